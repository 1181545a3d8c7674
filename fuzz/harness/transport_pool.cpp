#include "harness/transport_pool.hpp"

#include <optional>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/profile_prefix.hpp"
#include "common/stream_io.hpp"

namespace vmsg::fuzz {

namespace ops = transport_ops;

struct TransportPool::Entry {
  explicit Entry(const ops::Setup& setup, machine::GuestRam& ram) : harness(setup, &ram), fresh(harness.save()) {}
  TransportHarness harness;
  std::shared_ptr<const TransportHarness::Saved> fresh;
  std::map<BringUpKey, std::shared_ptr<const TransportHarness::Saved>> brought_up;
};

TransportPool::TransportPool() : ram_(ops::kRamSize) {}

TransportPool::~TransportPool() = default;

TransportPool::Entry& TransportPool::entry(const ops::Setup& setup) {
  const SetupKey key{setup.kind, setup.indirect, setup.event_idx, setup.polite, setup.profile.index()};
  auto it = entries_.find(key);
  if (it == entries_.end()) it = entries_.emplace(key, std::make_unique<Entry>(setup, ram_)).first;
  return *it->second;
}

TransportHarness& TransportPool::start(const ops::Setup& setup) {
  Entry& e = entry(setup);
  if (at_fresh_ != &e) e.harness.restore(*e.fresh);
  at_fresh_ = nullptr;
  return e.harness;
}

void TransportPool::finish(const ops::Setup& setup) {
  Entry& e = entry(setup);
  e.harness.restore(*e.fresh);
  at_fresh_ = &e;
}

TransportHarness& TransportPool::start(const ops::Setup& setup, const ops::Op& first) {
  Entry& e = entry(setup);
  const bool fresh = at_fresh_ == &e;
  at_fresh_ = nullptr;
  if (first.kind != ops::Kind::BringUp) {
    if (!fresh) e.harness.restore(*e.fresh);
    e.harness.run(first);
    return e.harness;
  }
  // Every field bring_up() reads; the rest of an Op means nothing to it.
  const BringUpKey key{first.count, first.value, first.size};
  if (const auto it = e.brought_up.find(key); it != e.brought_up.end()) {
    e.harness.restore(*it->second);
    ++hits_;
    return e.harness;
  }
  if (!fresh) e.harness.restore(*e.fresh);
  e.harness.run(first);
  if (memoised_ < kMaxMemo) {
    e.brought_up.emplace(key, e.harness.save());
    ++memoised_;
  }
  return e.harness;
}

TransportOutcome run_transport_input(const std::uint8_t* data, std::size_t size, TransportPool* pool,
                                     bool digest) {
  const ProfileChoice profile = take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  FdpReader in(fdp);
  ops::Setup setup;
  ops::io_setup(in, setup);
  setup.profile = profile;
  std::optional<TransportHarness> own;
  TransportHarness* h = nullptr;
  std::size_t done = 0;
  if (pool == nullptr) {
    h = &own.emplace(setup);
  } else if (in.more()) {
    ops::Op first;
    ops::io_op(in, first);
    h = &pool->start(setup, first);
    done = 1;
  } else {
    h = &pool->start(setup);
  }
  for (; done < ops::kMaxOps && in.more(); ++done) {
    ops::Op op;
    ops::io_op(in, op);
    h->run(op);
  }
  h->finish();
  const TransportOutcome out{h->trace(), digest ? h->ram_digest() : 0, h->frames_out(), h->violations()};
  if (pool != nullptr) pool->finish(setup);
  return out;
}

}  // namespace vmsg::fuzz
