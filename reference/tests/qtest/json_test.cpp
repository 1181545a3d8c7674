// The JSON codec under QMP: round trips, escapes and typed refusals.
#include <gtest/gtest.h>

#include "vmsg/qtest/json.hpp"

namespace vmsg::qtest::json {
namespace {

TEST(Json, ParsesScalarsAndContainers) {
  const Value v = parse(R"( {"a": [1, -2, true, false, null], "b": {"c": "d"}, "e": []} )");
  ASSERT_NE(v.as_object(), nullptr);
  const Value* a = v.find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->as_array()->size(), 5u);
  EXPECT_EQ(*(*a->as_array())[1].as_int(), -2);
  EXPECT_EQ(*(*a->as_array())[2].as_bool(), true);
  EXPECT_TRUE((*a->as_array())[4].is_null());
  EXPECT_EQ(*v.find("b")->find("c")->as_string(), "d");
  EXPECT_EQ(v.find("zz"), nullptr);
}

TEST(Json, IntegerLimits) {
  EXPECT_EQ(*parse("9223372036854775807").as_int(), INT64_MAX);
  EXPECT_EQ(*parse("-9223372036854775808").as_int(), INT64_MIN);
  EXPECT_THROW((void)parse("9223372036854775808"), ParseError);
  EXPECT_THROW((void)parse("-9223372036854775809"), ParseError);
  EXPECT_THROW((void)parse("1.5"), ParseError);
  EXPECT_THROW((void)parse("1e3"), ParseError);
  EXPECT_THROW((void)parse("01"), ParseError);
  EXPECT_THROW((void)parse("-"), ParseError);
}

TEST(Json, StringEscapes) {
  EXPECT_EQ(*parse(R"("a\"b\\c\/d\b\f\n\r\t")").as_string(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(*parse(R"("\u00e9\u20ac")").as_string(), "\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(*parse(R"("\ud83d\ude00")").as_string(), "\xF0\x9F\x98\x80");
  EXPECT_THROW((void)parse(R"("\ud83d")"), ParseError);
  EXPECT_THROW((void)parse(R"("\ude00")"), ParseError);
  EXPECT_THROW((void)parse(R"("\x")"), ParseError);
  EXPECT_THROW((void)parse(R"("\u12")"), ParseError);
  EXPECT_THROW((void)parse("\"a\nb\""), ParseError);
  EXPECT_THROW((void)parse("\"abc"), ParseError);
}

TEST(Json, MalformedInputIsATypedErrorWithAnOffset) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "tru", "nul", "{} x", "[1 2]", "{1:2}", "@"}) {
    EXPECT_THROW((void)parse(bad), ParseError) << bad;
  }
  try {
    (void)parse("[1, x]");
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.offset(), 4u);
  }
}

TEST(Json, DepthIsBounded) {
  EXPECT_NO_THROW((void)parse(std::string(kMaxDepth - 1, '[') + std::string(kMaxDepth - 1, ']')));
  EXPECT_THROW((void)parse(std::string(100000, '[')), ParseError);
}

TEST(Json, DumpRoundTrips) {
  const Value v = Object{{"execute", "balloon"},
                         {"arguments", Object{{"value", std::int64_t{1} << 40}, {"s", "q\"\\\n\x01"}}},
                         {"l", Array{1, true, nullptr, Array{}}}};
  const std::string text = dump(v);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(parse(text), v);
  EXPECT_EQ(dump(Object{{"a", 1}}), R"({"a": 1})");
  EXPECT_EQ(dump("\x1f"), R"("\u001f")");
}

TEST(Json, RepeatedKeyReadsAsTheLast) { EXPECT_EQ(*parse(R"({"a":1,"a":2})").find("a")->as_int(), 2); }

}  // namespace
}  // namespace vmsg::qtest::json
