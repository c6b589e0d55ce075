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
  ServerVariables::Lookup outcome(const std::string& name) {
    ServerVariables vars(config, info);
    std::string value;
    return vars.lookup(name, value);
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
  EXPECT_EQ(v.outcome("HTTP_ABSENT"), ServerVariables::Lookup::unknown);
  EXPECT_EQ(v.outcome("NO_SUCH_VARIABLE"), ServerVariables::Lookup::unknown);
  EXPECT_EQ(v.outcome("HTTPS_KEYSIZE"), ServerVariables::Lookup::no_data);
}

TEST(ServerVariables, NamesAreCaseInsensitiveAndTableNamesWinOverHeaders) {
  Vars v;
  v.info.headers.push_back({"Url", "header"});
  v.info.headers.push_back({"X_Under", "u"});
  EXPECT_EQ(v.get("url"), "/kallithea/repo");
  EXPECT_EQ(v.get("Unicode_Request_Method"), std::string("G\0E\0T\0", 6));
  EXPECT_EQ(v.get("HTTP_URL"), "/kallithea/caf%C3%A9/../repo?x=1");
  EXPECT_EQ(v.get("http_x_two"), "a,b");
  EXPECT_EQ(v.get("HTTP_X_UNDER"), "u");
  EXPECT_EQ(v.get("HEADER_x_under"), "u");
  EXPECT_EQ(v.get("CERT_SUBJECT"), "");
  EXPECT_EQ(v.get("SERVER_PORT_SECURE"), "0");
  // The header's own spelling is for HEADER_ only; UNICODE_ has no header forms.
  for (const char* name : {"HTTP_X-TWO", "HEADER_X_TWO", "UNICODE_HTTP_X_TWO", "UNICODE_ALL_RAW",
                           "HTTP_", "URL_", "UR", ""})
    EXPECT_EQ(v.outcome(name), ServerVariables::Lookup::unknown) << name;
}

TEST(ServerVariables, AllHttpAndAllRaw) {
  Vars v;
  EXPECT_EQ(v.get("ALL_HTTP"), "HTTP_HOST:example:8080\r\nHTTP_X_TWO:a\r\nHTTP_X_TWO:b\r\n");
  EXPECT_EQ(v.get("all_raw"), "Host: example:8080\r\nX-Two: a\r\nx-two: b\r\n");
}

} // namespace
} // namespace isapi_host
