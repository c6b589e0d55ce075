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

TEST(address, refuses_a_unix_path_longer_than_sun_path_and_names_the_limit) {
  bridge_address a;
  std::string e;
  std::string path = "/tmp/" + std::string(150, 'x') + ".sock";
  EXPECT_FALSE(parse_bridge_address("unix:" + path, a, e));
  EXPECT_NE(e.find("sun_path"), std::string::npos) << e;
  EXPECT_NE(e.find(std::to_string(path.size()) + " bytes"), std::string::npos) << e;
  EXPECT_TRUE(parse_bridge_address("unix:/tmp/" + std::string(80, 'y'), a, e));
}

TEST(address, tcp_host_must_be_an_ip_literal) {
  bridge_address a;
  std::string e;
  EXPECT_FALSE(parse_bridge_address("tcp:localhost:9000", a, e));
  EXPECT_NE(e.find("IP address"), std::string::npos) << e;
  EXPECT_FALSE(parse_bridge_address("tcp:[::1:9000", a, e));
  EXPECT_FALSE(parse_bridge_address("tcp:127.0.0.1:0", a, e));
  EXPECT_FALSE(parse_bridge_address("tcp:127.0.0.1:+80", a, e));
  EXPECT_FALSE(parse_bridge_address("tcp:127.0.0.1:99999999999999999999", a, e));
  EXPECT_TRUE(parse_bridge_address("tcp:127.0.0.1:65535", a, e));
  EXPECT_EQ(a.port, 65535);
}

TEST(address, pipe_names_follow_windows_rules) {
  bridge_address a;
  std::string e;
  EXPECT_FALSE(parse_bridge_address("pipe:\\\\.\\pipe\\a\\b", a, e));
  EXPECT_FALSE(parse_bridge_address("pipe:\\\\.\\pipe\\" + std::string(257, 'p'), a, e));
  EXPECT_FALSE(parse_bridge_address(std::string("unix:/tmp/a\0b", 13), a, e));
}
