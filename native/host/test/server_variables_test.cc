#include "server_variables.h"

#include <gtest/gtest.h>

namespace isapi_host {
namespace {

struct Vars {
  HostConfig config;
  RequestInfo info;
  Vars() {
    config.virtual_dir = "/kallithea";
    config.physical_path = "C:\\inetpub\\kallithea";
    config.site_id = 3;
    info.method = "GET";
    info.raw_target = "/kallithea/caf%C3%A9/../repo?x=1";
    info.http_version = "1.1";
    info.headers = {{"Host", "example:8080"}, {"X-Two", "a"}, {"x-two", "b"}};
    info.local_port = 8080;
    info.remote_addr = "::ffff:10.0.0.1";
  }
  std::string get(const std::string& name) {
    ServerVariables vars(config, info);
    std::string value;
    EXPECT_EQ(vars.lookup(name, value), ServerVariables::Lookup::found) << name;
    return value;
  }
};

TEST(ServerVariables, PathsAreCanonicalAndRawOnesStayRaw) {
  Vars v;
  EXPECT_EQ(v.get("URL"), "/kallithea/repo");
  EXPECT_EQ(v.get("PATH_INFO"), "/kallithea/repo");
  EXPECT_EQ(v.get("QUERY_STRING"), "x=1");
  EXPECT_EQ(v.get("UNENCODED_URL"), "/kallithea/caf%C3%A9/../repo?x=1");
  EXPECT_EQ(v.get("PATH_TRANSLATED"), "C:\\inetpub\\kallithea\\repo");
  EXPECT_EQ(v.get("UNICODE_URL"), std::string("/\0k\0a\0l\0l\0i\0t\0h\0e\0a\0/\0r\0e\0p\0o\0", 30));
}

TEST(ServerVariables, AnsiPathIsWindows1252) {
  Vars v;
  v.info.raw_target = "/kallithea/caf%C3%A9";
  EXPECT_EQ(v.get("URL"), "/kallithea/caf\xE9");
}

TEST(ServerVariables, SiteAndServerFacts) {
  Vars v;
  EXPECT_EQ(v.get("APPL_MD_PATH"), "/LM/W3SVC/3/ROOT/kallithea");
  EXPECT_EQ(v.get("SERVER_NAME"), "example");
  EXPECT_EQ(v.get("SERVER_PORT"), "8080");
  EXPECT_EQ(v.get("REMOTE_ADDR"), "10.0.0.1");
  EXPECT_EQ(v.get("HTTPS"), "off");
}

TEST(ServerVariables, HeadersJoinAndUnknownNamesFail) {
  Vars v;
  EXPECT_EQ(v.get("HTTP_X_TWO"), "a,b");
  EXPECT_EQ(v.get("HEADER_X-Two"), "a,b");
  ServerVariables vars(v.config, v.info);
  std::string value;
  EXPECT_EQ(vars.lookup("HTTP_ABSENT", value), ServerVariables::Lookup::unknown);
  EXPECT_EQ(vars.lookup("NO_SUCH_VARIABLE", value), ServerVariables::Lookup::unknown);
  EXPECT_EQ(vars.lookup("HTTPS_KEYSIZE", value), ServerVariables::Lookup::no_data);
}

} // namespace
} // namespace isapi_host
