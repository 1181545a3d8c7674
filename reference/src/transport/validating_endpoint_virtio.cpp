// The validating peer's checks of the virtio core and device-type driver rules
// that show at message level (status, features, configuration, queue reset),
// under both profiles: the core chapters are the same for PR28 and REV1
// (catalogue/requirements-virtio.toml). The rules the device type's requests
// carry are checked where the requests are understood, in the backends
// (DeviceContext::driver_rule).
#include <algorithm>
#include <array>
#include <limits>
#include <span>
#include <string>
#include <variant>

#include "validation_helpers.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport {

using detail::bit;
using detail::ConfigRange;
using vmsg::hex;
namespace st = wire::status;

namespace {

constexpr unsigned kVersion1Bit = 32;       // VIRTIO_F_VERSION_1 (content.tex L891)
constexpr std::uint32_t kBlkId = 2;         // virtio-blk
constexpr std::uint32_t kBalloonId = 5;     // virtio-balloon
constexpr unsigned kBlkRoBit = 5;           // VIRTIO_BLK_F_RO
constexpr unsigned kBalloonTellHostBit = 0; // VIRTIO_BALLOON_F_MUST_TELL_HOST
constexpr ConfigRange kBlkCapacity{0, 8};   // le64 capacity, always present

/// An optional configuration field and the feature that makes it exist.
struct OptionalField {
  ConfigRange range;
  unsigned feature;
  const char* name;
};

// struct virtio_blk_config (blk description.tex L89-131) and the feature of each
// optional part (L10-60); capacity is always there.
constexpr std::array kBlkFields{
    OptionalField{{8, 4}, 1, "size_max (SIZE_MAX)"},
    OptionalField{{12, 4}, 2, "seg_max (SEG_MAX)"},
    OptionalField{{16, 4}, 4, "geometry (GEOMETRY)"},
    OptionalField{{20, 4}, 6, "blk_size (BLK_SIZE)"},
    OptionalField{{24, 8}, 10, "topology (TOPOLOGY)"},
    OptionalField{{32, 1}, 11, "writeback (CONFIG_WCE)"},
    OptionalField{{34, 2}, 12, "num_queues (MQ)"},
    OptionalField{{36, 12}, 13, "discard limits (DISCARD)"},
    OptionalField{{48, 9}, 14, "write-zeroes limits (WRITE_ZEROES)"},
    OptionalField{{60, 12}, 16, "secure-erase limits (SECURE_ERASE)"},
    OptionalField{{72, 24}, 17, "zoned characteristics (ZONED)"},
};
// struct virtio_balloon_config (balloon description.tex L91-96): num_pages and
// actual always, the other two with their features.
constexpr std::array kBalloonFields{
    OptionalField{{8, 4}, 3, "free_page_hint_cmd_id (FREE_PAGE_HINT)"},
    OptionalField{{12, 4}, 4, "poison_val (PAGE_POISON)"},
};

// The feature bits the draft defines (content.tex L98-106, L786-878; the
// device-type chapters' feature lists). Legacy-only bits (24, 27, 30, blk 0
// and 7) count as defined: their misuse is the legacy interface's business.
constexpr std::uint64_t kCoreDefined = (std::uint64_t{0x3FFFF} << 24) & ~(std::uint64_t{1} << 31) & ~(std::uint64_t{3} << 25);
constexpr std::uint64_t kBlkDefined = 0x3FEF7;      // bits 0-2, 4-7, 9-17 (blk description.tex L10-64)
constexpr std::uint64_t kBalloonDefined = 0x3F;     // bits 0-5 (balloon description.tex L20-46)

/// The bits of block `block` = `word` that the draft leaves undefined for a
/// device of type `type` (0: unknown type, only the reserved ranges count).
std::uint32_t undefined_bits(std::uint64_t block, std::uint32_t word, std::uint32_t type) {
  if (block >= 4) return word;  // 128 and above: reserved (L105)
  std::uint64_t type_bits = 0;  // the device type's own, within 0-23 and 50-127
  bool known = true;
  if (type == kBlkId) {
    type_bits = kBlkDefined;
  } else if (type == kBalloonId) {
    type_bits = kBalloonDefined;
  } else if (type != detail::kEntropyDeviceId) {  // rng has no feature bits of its own
    known = false;
  }
  std::uint32_t out = 0;
  for (unsigned i = 0; i < 32; ++i) {
    if ((word & (1U << i)) == 0) continue;
    const std::uint64_t n = 32 * block + i;
    const bool reserved = n >= 42 && n <= 49;
    const bool core = n >= 24 && n <= 41;
    const bool typed = !core && !reserved;
    const bool defined = core ? (kCoreDefined & (std::uint64_t{1} << n)) != 0
                              : typed && (!known || (n < 64 && (type_bits & (std::uint64_t{1} << n)) != 0));
    if (!defined) out |= 1U << i;
  }
  return out;
}

bool overlaps(const ConfigRange& a, const ConfigRange& b) {
  return a.length != 0 && b.length != 0 && a.offset < b.offset + b.length && b.offset < a.offset + a.length;
}

bool contains(const ConfigRange& outer, const ConfigRange& inner) {
  return inner.offset >= outer.offset && inner.offset + inner.length <= outer.offset + outer.length;
}

/// Whether the union of `cover` holds every byte of `r`.
bool covered(ConfigRange r, std::vector<ConfigRange> cover) {
  std::sort(cover.begin(), cover.end(), [](const ConfigRange& a, const ConfigRange& b) { return a.offset < b.offset; });
  std::uint64_t at = r.offset;
  const std::uint64_t end = r.offset + r.length;
  for (const ConfigRange& c : cover) {
    if (at >= end) break;
    if (c.offset > at) break;
    at = std::max(at, c.offset + c.length);
  }
  return at >= end;
}

std::string range_text(const ConfigRange& r) {
  return "[" + std::to_string(r.offset) + ", +" + std::to_string(r.length) + ")";
}

}  // namespace

// ---- driver -> device ----------------------------------------------------------

void ValidatingEndpoint::check_virtio(const wire::Message& m) {
  const wire::Body& b = m.body;
  check_config_reads(m);
  // content.tex L259-260: until a status read shows 0, only status reads and resets.
  if (virtio_.reset_incomplete && !std::holds_alternative<wire::GetDeviceStatusReq>(b)) {
    const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&b);
    if (ss == nullptr || (ss->status & 0xFF) != 0) {
      virtio_.reset_incomplete = false;  // once per reset
      violation("VIRTIO-CORE-018", m, "sent before any status read showed the reset complete");
    }
  }
  if (const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&b)) {
    check_virtio_status(m, *ss);
  } else if (const auto* f = std::get_if<wire::SetDriverFeaturesReq>(&b)) {
    check_virtio_features(m, *f);
  } else if (const auto* gc = std::get_if<wire::GetConfigReq>(&b)) {
    check_virtio_config(m, gc->offset, gc->length);
  } else if (const auto* sc = std::get_if<wire::SetConfigReq>(&b)) {
    check_virtio_config(m, sc->offset, sc->data.size());
    // content.tex L529-530: during negotiation (DRIVER set, FEATURES_OK not yet) config is read-only.
    if ((status_ & st::kDriver) != 0 && (status_ & st::kFeaturesOk) == 0) {
      violation("VIRTIO-CORE-030", m, "config write during feature negotiation (device reports " + hex(status_) + ")");
    }
  } else if (const auto* gv = std::get_if<wire::GetVqueueReq>(&b)) {
    if (virtio_.features_refused) {
      violation("VIRTIO-CORE-032", m,
                "queue " + std::to_string(gv->index) + ": setup goes on after FEATURES_OK was refused, with no reset");
    }
  } else if (const auto* sv = std::get_if<wire::SetVqueueReq>(&b)) {
    const std::string q = "queue " + std::to_string(sv->index) + ": ";
    if (virtio_.features_refused) {
      violation("VIRTIO-CORE-032", m, q + "setup goes on after FEATURES_OK was refused, with no reset");
    }
    if ((status_ & st::kFailed) != 0) {
      violation("VIRTIO-CORE-003", m, q + "setup after FAILED, with no reset");
    }
    // content.tex L631: replacing a live queue abandons the buffers the device holds.
    const auto live = queues_.find(sv->index);
    const auto ring = virtio_.rings.find(sv->index);
    if ((status_ & st::kDriverOk) != 0 && live != queues_.end() && live->second.configured &&
        ring != virtio_.rings.end()) {
      const auto avail = read_u16(ring->second.first + 2);
      const auto used = read_u16(ring->second.second + 2);
      if (avail && used && *avail != *used) {
        violation("VIRTIO-CORE-035", m,
                  q + "replaced while the device holds " + std::to_string(static_cast<std::uint16_t>(*avail - *used)) +
                      " buffer(s), with no reset");
      }
    }
    if (virtio_.reset_unverified.contains(sv->index)) {
      violation("VIRTIO-CORE-025", m, q + "set up again after RESET_VQUEUE with no GET_VQUEUE showing the reset");
    }
  } else if (const auto* ea = std::get_if<wire::EventAvail>(&b)) {
    const std::string q = "queue " + std::to_string(ea->vq_index) + ": ";
    const auto it = queues_.find(ea->vq_index);
    if (virtio_.reenabled.contains(ea->vq_index) && it != queues_.end() && it->second.configured &&
        !it->second.confirmed) {
      violation("VIRTIO-CORE-028", m, q + "re-enabled after RESET_VQUEUE and used before a GET_VQUEUE confirmed it");
    }
    if (virtio_.capacity_check_owed) {
      virtio_.capacity_check_owed = false;  // once per notification
      virtio_.capacity_event_posted = false;
      violation("VIRTIO-BLK-010", m, q + "request sent after a configuration change notification without reading capacity");
    }
  }
}

void ValidatingEndpoint::check_virtio_status(const wire::Message& m, const wire::SetDeviceStatusReq& r) {
  const std::uint32_t s = r.status & 0xFF;
  if (s == 0) return;  // a reset is always allowed
  const std::uint32_t added = s & ~status_;
  // content.tex L63-64: only a reset takes a bit away (DEVICE_NEEDS_RESET is the device's own).
  const std::uint32_t cleared = status_ & ~s & 0xFF & ~st::kNeedsReset;
  if (cleared != 0) {
    violation("VIRTIO-CORE-002", m, hex(r.status) + " clears " + hex(cleared) + " of reported " + hex(status_));
  }
  // content.tex L64-65: after FAILED, nothing but a reset before starting again.
  if ((status_ & st::kFailed) != 0 && (added & ~st::kFailed) != 0) {
    violation("VIRTIO-CORE-003", m, hex(r.status) + " sets " + hex(added) + " after FAILED, with no reset");
  }
  // content.tex L518-545, step 1: the sequence starts with a reset.
  if ((added & st::kAcknowledge) != 0 && !virtio_.reset_seen) {
    violation("VIRTIO-CORE-029", m, "ACKNOWLEDGE set before the driver ever reset the device");
  }
  if ((added & st::kDriverOk) != 0 && virtio_.features_refused) {
    violation("VIRTIO-CORE-032", m, "DRIVER_OK after FEATURES_OK was refused, with no reset");
  }
  if ((added & st::kFeaturesOk) == 0) return;
  // Setting FEATURES_OK closes the accepted set: judge it against the offer.
  const auto offered = [this](unsigned n) {
    const auto it = offered_blocks_.find(n / 32);
    return it != offered_blocks_.end() && (it->second & (1U << (n % 32))) != 0;
  };
  const auto accepted = [this](unsigned n) { return (driver_features_ & bit(n)) != 0; };
  if (offered(kVersion1Bit) && !accepted(kVersion1Bit)) {
    violation("VIRTIO-CORE-036", m, "FEATURES_OK without VIRTIO_F_VERSION_1, which the device offered");
  }
  const std::uint32_t type = info_ ? info_->device_id : 0;
  if (type == kBlkId && offered(kBlkRoBit) && !accepted(kBlkRoBit)) {
    violation("VIRTIO-BLK-012", m, "FEATURES_OK without VIRTIO_BLK_F_RO, which the device offered");
  }
  if (type == kBalloonId && offered(kBalloonTellHostBit) && !accepted(kBalloonTellHostBit)) {
    violation("VIRTIO-BALLOON-001", m, "FEATURES_OK without VIRTIO_BALLOON_F_MUST_TELL_HOST, which the device offered");
  }
}

void ValidatingEndpoint::check_virtio_features(const wire::Message& m, const wire::SetDriverFeaturesReq& r) {
  // content.tex L58-62: negotiating is step 4; ACKNOWLEDGE and DRIVER record steps 2 and 3.
  constexpr std::uint32_t kBefore = st::kAcknowledge | st::kDriver;
  if ((status_ & kBefore) != kBefore) {
    violation("VIRTIO-CORE-001", m, "feature write while the device reports " + hex(status_) +
                                        " (ACKNOWLEDGE and DRIVER not both recorded)");
  }
  if ((status_ & st::kFailed) != 0) violation("VIRTIO-CORE-003", m, "feature write after FAILED, with no reset");
  for (std::size_t i = 0; i < r.features.size(); ++i) {
    const std::uint32_t word = r.features[i];
    const std::uint64_t block = std::uint64_t{r.block_index} + i;
    if (word == 0 || block > std::numeric_limits<std::uint32_t>::max()) continue;
    // content.tex L143-150: bits the draft does not define for this device are never accepted.
    if (const std::uint32_t undefined = undefined_bits(block, word, info_ ? info_->device_id : 0); undefined != 0) {
      violation("VIRTIO-CORE-009", m,
                "block " + std::to_string(block) + " accepts " + hex(undefined) + ", not defined for this device type");
    }
    const auto it = offered_blocks_.find(static_cast<std::uint32_t>(block));
    // content.tex L139-141: offered bits only (a block never read is VMSG-DRV-022's case).
    if (it != offered_blocks_.end() && (word & ~it->second) != 0) {
      violation("VIRTIO-CORE-008", m,
                "block " + std::to_string(block) + " accepts " + hex(word & ~it->second) + ", not offered");
    }
    // content.tex L532-533: nothing new once FEATURES_OK is set.
    if ((status_ & st::kFeaturesOk) != 0) {
      const std::uint32_t agreed = block < 2 ? static_cast<std::uint32_t>(negotiated_ >> (32 * block)) : 0;
      if ((word & ~agreed) != 0) {
        violation("VIRTIO-CORE-031", m,
                  "block " + std::to_string(block) + " adds " + hex(word & ~agreed) + " after FEATURES_OK");
      }
    }
  }
}

void ValidatingEndpoint::check_virtio_config(const wire::Message& m, std::uint64_t offset, std::uint64_t length) {
  // Beyond config_size is VMSG-DRV-055/057's case: no field exists there.
  if (!info_ || length == 0 || offset + length > info_->config_size) return;
  const ConfigRange access{offset, length};
  const auto offered = [this](unsigned n) {
    const auto it = offered_blocks_.find(n / 32);
    return it != offered_blocks_.end() && (it->second & (1U << (n % 32))) != 0;
  };
  std::span<const OptionalField> fields;
  if (info_->device_id == kBlkId) fields = kBlkFields;
  if (info_->device_id == kBalloonId) fields = kBalloonFields;
  // content.tex L294-296: an optional field only after seeing its feature offered.
  for (const OptionalField& f : fields) {
    if (overlaps(access, f.range) && !offered(f.feature)) {
      violation("VIRTIO-CORE-020", m,
                "config " + range_text(access) + " touches " + f.name + ", whose feature was not seen offered");
      break;
    }
  }
}

void ValidatingEndpoint::check_config_reads(const wire::Message& m) {
  if (std::holds_alternative<wire::GetConfigReq>(m.body)) return;  // the run of reads goes on
  // content.tex L281-283: a run of reads that crossed a generation change ends
  // only once every range of it was read again at the final generation.
  for (const ConfigRange& r : virtio_.reads_stale) {
    if (!covered(r, virtio_.reads_fresh)) {
      violation("VIRTIO-CORE-019", m,
                "config " + range_text(r) + " was read before the generation moved to " +
                    std::to_string(virtio_.reads_generation.value_or(0)) + " and not read again");
      break;
    }
  }
  virtio_.reads_fresh.clear();
  virtio_.reads_stale.clear();
  virtio_.reads_generation.reset();
}

// ---- device -> driver ------------------------------------------------------------

void ValidatingEndpoint::observe_virtio(const wire::Message& posted) {
  detail::VirtioRuleModel& v = virtio_;
  if (const auto* ev = std::get_if<wire::EventConfig>(&posted.body)) {
    // blk: a change that may touch capacity, and does not carry capacity itself.
    const ConfigRange changed{ev->offset, ev->length};
    const bool carries = ev->data.size() == ev->length && contains(changed, kBlkCapacity);
    const bool moved = ev->length == 0 ? ev->generation != answered_generation_.value_or(ev->generation + 1)
                                       : overlaps(changed, kBlkCapacity);
    if (info_ && info_->device_id == kBlkId && moved && !carries) v.capacity_event_posted = true;
    return;
  }
  if (!wire::is_response(posted.body)) return;
  if (v.capacity_event_posted) v.capacity_check_owed = true;  // the driver holds the event now
  const wire::Body* req = current_ != nullptr ? &current_->body : nullptr;
  if (req == nullptr) return;
  if (const auto* gc = std::get_if<wire::GetConfigResp>(&posted.body)) {
    const auto* r = std::get_if<wire::GetConfigReq>(req);
    if (r == nullptr) return;
    const ConfigRange read{r->offset, r->length};
    if (contains(read, kBlkCapacity)) v.capacity_check_owed = v.capacity_event_posted = false;
    if (v.reads_generation && *v.reads_generation != gc->generation) {
      for (const ConfigRange& f : v.reads_fresh) {
        if (v.reads_stale.size() < detail::kMaxTrackedReads) v.reads_stale.push_back(f);
      }
      v.reads_fresh.clear();
    }
    v.reads_generation = gc->generation;
    if (v.reads_fresh.size() < detail::kMaxTrackedReads) v.reads_fresh.push_back(read);
  } else if (const auto* ss = std::get_if<wire::SetDeviceStatusResp>(&posted.body)) {
    const auto* r = std::get_if<wire::SetDeviceStatusReq>(req);
    if (r == nullptr) return;
    if ((r->status & 0xFF) == 0) {
      v.reset_seen = true;
      v.reset_incomplete = ss->status != 0;
      v.features_refused = false;
      v.reset_unverified.clear();
      v.reenabled.clear();
      v.rings.clear();
      v.capacity_event_posted = v.capacity_check_owed = false;
    } else if ((r->status & st::kFeaturesOk) != 0 && (ss->status & st::kFeaturesOk) == 0) {
      v.features_refused = true;
    }
  } else if (std::holds_alternative<wire::SetVqueueResp>(posted.body)) {
    // Only what the device took: a refused SET_VQUEUE leaves the queue as it was (G9).
    if (const auto* r = std::get_if<wire::SetVqueueReq>(req);
        r != nullptr && r->index < detail::kModelQueues && r->size != 0 && (rev1_ || valid_queue_params(*r))) {
      v.rings[r->index] = {r->driver_addr, r->device_addr};
    }
  } else if (const auto* gs = std::get_if<wire::GetDeviceStatusResp>(&posted.body)) {
    if (gs->status == 0) v.reset_incomplete = false;
  } else if (std::holds_alternative<wire::ResetVqueueResp>(posted.body)) {
    if (const auto* r = std::get_if<wire::ResetVqueueReq>(req); r != nullptr && r->index < detail::kModelQueues) {
      v.reset_unverified.insert(r->index);
      v.reenabled.insert(r->index);
      v.rings.erase(r->index);
    }
  } else if (std::holds_alternative<wire::GetVqueueResp>(posted.body)) {
    if (const auto* r = std::get_if<wire::GetVqueueReq>(req); r != nullptr) v.reset_unverified.erase(r->index);
  }
}

}  // namespace vmsg::transport
