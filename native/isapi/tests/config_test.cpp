// kallithea-isapi.ini [isapi]: defaults, values, and errors that name file, key and fix.
#include "config/config.hpp"

#include <gtest/gtest.h>

using namespace kallithea_isapi;

TEST(config, defaults_apply_to_an_empty_file) {
  auto r = parse_config("", "/srv/k.ini", "/srv");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.value.mode, bridge_mode::spawn);
  EXPECT_EQ(r.value.max_connections, 64u);
  EXPECT_EQ(r.value.max_queued, 1000u);
  EXPECT_EQ(r.value.log_file, "/srv/kallithea_isapi.log");
  EXPECT_EQ(r.value.drain_timeout.count(), 30000);
}

TEST(config, reads_the_isapi_section_and_ignores_the_bridge_section) {
  auto r = parse_config("[isapi]\nmode = connect ; comment\nbridge_address = tcp:127.0.0.1:9000\n"
                        "secret_file = secret.txt\nthreads=3\nconnect_timeout = 0.5\n"
                        "[bridge]\nupstream = http://x\nwhatever = 1\n",
                        "/srv/k.ini", "/srv");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.value.mode, bridge_mode::connect);
  EXPECT_EQ(r.value.bridge_address, "tcp:127.0.0.1:9000");
  EXPECT_EQ(r.value.secret_file, "/srv/secret.txt");
  EXPECT_EQ(r.value.threads, 3u);
  EXPECT_EQ(r.value.connect_timeout.count(), 500);
}

TEST(config, errors_name_the_file_the_key_and_the_fix) {
  auto r = parse_config("[isapi]\nmax_connections = lots\n", "/srv/k.ini", "/srv");
  EXPECT_NE(r.error.find("/srv/k.ini"), std::string::npos);
  EXPECT_NE(r.error.find("max_connections"), std::string::npos);
  EXPECT_NE(r.error.find("use a number"), std::string::npos);
  r = parse_config("[isapi]\nmaxconnections = 3\n", "/srv/k.ini", "/srv");
  EXPECT_NE(r.error.find("unknown key"), std::string::npos);
  r = parse_config("[isapi]\nmode = connect\n", "/srv/k.ini", "/srv");
  EXPECT_NE(r.error.find("bridge_address"), std::string::npos);
  r = parse_config("[isapi]\ndrain_timeout = -1\n", "/srv/k.ini", "/srv");
  EXPECT_NE(r.error.find("drain_timeout"), std::string::npos);
}

TEST(config, queue_timeout_defaults_to_30_seconds_and_is_read) {
  EXPECT_EQ(parse_config("", "/srv/k.ini", "/srv").value.queue_timeout.count(), 30000);
  auto r = parse_config("[isapi]\nqueue_timeout = 2.5\n", "/srv/k.ini", "/srv");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.value.queue_timeout.count(), 2500);
}

TEST(config, a_bridge_address_that_cannot_work_is_refused_where_it_is_read) {
  auto r = parse_config("[isapi]\nmode = connect\nbridge_address = unix:/tmp/" +
                            std::string(150, 'x') + "\nsecret_file = s\n",
                        "/srv/k.ini", "/srv");
  EXPECT_NE(r.error.find("[isapi] bridge_address"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("sun_path"), std::string::npos) << r.error;
  r = parse_config(
      "[isapi]\nmode = connect\nbridge_address = tcp:localhost:9000\nsecret_file = s\n",
      "/srv/k.ini", "/srv");
  EXPECT_NE(r.error.find("IP address"), std::string::npos) << r.error;
}
