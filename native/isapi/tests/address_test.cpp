// Bridge addresses: unix:, tcp:, pipe:.
#include "pool/address.hpp"

#include <gtest/gtest.h>

using namespace kallithea_isapi;

TEST(address, parses_the_three_forms) {
  bridge_address a;
  std::string e;
  ASSERT_TRUE(parse_bridge_address("unix:/tmp/x.sock", a, e));
  EXPECT_EQ(a.type, bridge_address::kind::unix_socket);
  EXPECT_EQ(a.path, "/tmp/x.sock");
  ASSERT_TRUE(parse_bridge_address("tcp:127.0.0.1:9000", a, e));
  EXPECT_EQ(a.port, 9000);
  EXPECT_EQ(a.host, "127.0.0.1");
  ASSERT_TRUE(parse_bridge_address("tcp:[::1]:9000", a, e));
  EXPECT_EQ(a.host, "::1");
  ASSERT_TRUE(parse_bridge_address("pipe:\\\\.\\pipe\\kallithea", a, e));
  EXPECT_EQ(a.type, bridge_address::kind::pipe);
}

TEST(address, refuses_others) {
  bridge_address a;
  std::string e;
  EXPECT_FALSE(parse_bridge_address("http://x", a, e));
  EXPECT_FALSE(parse_bridge_address("tcp:host", a, e));
  EXPECT_FALSE(parse_bridge_address("tcp:host:70000", a, e));
  EXPECT_FALSE(parse_bridge_address("unix:", a, e));
  EXPECT_FALSE(parse_bridge_address("pipe:name", a, e));
}
