// Reading the configuration and writing the log through platform/files: a missing or
// unreadable ini is an error that says so, and a log file that cannot be opened is said once.
#include "config/config.hpp"
#include "log/log.hpp"
#include "platform/files.hpp"
#include "request/error_page.hpp"
#include "status/status_figures.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace kallithea_isapi;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/kallithea-isapi-files-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~temp_dir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

} // namespace

TEST(files, a_missing_ini_is_an_error_naming_the_file_not_silent_defaults) {
  temp_dir d;
  std::string ini = d.path + "/kallithea-isapi.ini";
  config_result r = load_config(ini, d.path);
  ASSERT_FALSE(r.error.empty());
  EXPECT_NE(r.error.find(ini), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("missing"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("bridge_script"), std::string::npos) << r.error;
}

TEST(files, an_unreadable_ini_is_an_error_saying_it_cannot_be_read) {
  temp_dir d;
  // A folder where the file should be: unreadable as a file for root too (chmod 000 is not).
  std::string ini = d.path + "/kallithea-isapi.ini";
  ASSERT_EQ(mkdir(ini.c_str(), 0700), 0);
  config_result r = load_config(ini, d.path);
  ASSERT_FALSE(r.error.empty());
  EXPECT_NE(r.error.find("cannot be read"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("read access"), std::string::npos) << r.error;
}

TEST(files, an_ini_in_a_folder_with_non_ascii_letters_is_read_and_its_bom_skipped) {
  temp_dir d;
  std::string dir = d.path + "/spawn-é д 中";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  std::string ini = dir + "/kallithea-isapi.ini";
  std::ofstream(ini) << "\xEF\xBB\xBF[isapi]\nmax_connections = 7\nbridge_script = b.js\n";
  config_result r = load_config(ini, dir);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.value.max_connections, 7u);
  EXPECT_EQ(r.value.bridge_script, dir + "/b.js");
  EXPECT_EQ(r.value.log_file, dir + "/kallithea_isapi.log");
}

TEST(files, a_log_that_cannot_be_opened_is_reported_and_the_lost_lines_counted_later) {
  temp_dir d;
  std::string log_path = d.path + "/missing-folder/kallithea_isapi.log";
  {
    logger log(log_path);
    EXPECT_EQ(log.write_failure(), "");
    log.info("first");
    log.info("second");
    log.flush();
    std::string failure = log.write_failure();
    EXPECT_NE(failure.find("cannot write its log file " + log_path), std::string::npos) << failure;
    ASSERT_EQ(mkdir((d.path + "/missing-folder").c_str(), 0700), 0);
    log.info("third");
    log.flush();
    EXPECT_EQ(log.write_failure(), "");
  }
  std::string text, reason;
  ASSERT_EQ(read_file(log_path, text, reason), read_failure::none) << reason;
  EXPECT_NE(text.find("2 lines were lost"), std::string::npos) << text;
  EXPECT_NE(text.find("third"), std::string::npos) << text;
}

TEST(files, an_error_page_carries_a_note_with_a_recomputed_length) {
  error_page p = add_note(make_error_page(502, "The bridge host cannot be reached.", 5),
                          "cannot write its log file C:\\x<y>");
  EXPECT_NE(p.body.find("<p>cannot write its log file C:\\x&lt;y&gt;</p>"), std::string::npos);
  EXPECT_NE(p.header_block.find("Content-Length: " + std::to_string(p.body.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(p.header_block.find("Retry-After: 5"), std::string::npos);
}

TEST(files, node_is_looked_for_beside_the_dll_first_then_on_path_never_in_the_cwd) {
  temp_dir d;
  std::string dll_dir = d.path + "/site é", bin = d.path + "/bin";
  ASSERT_EQ(mkdir(dll_dir.c_str(), 0700), 0);
  ASSERT_EQ(mkdir(bin.c_str(), 0700), 0);
  std::ofstream(bin + "/node") << "";
  std::string path_list = "relative:" + d.path + "/empty:" + bin;
  EXPECT_EQ(resolve_executable("node", dll_dir, path_list), bin + "/node");
  std::ofstream(dll_dir + "/node") << "";
  EXPECT_EQ(resolve_executable("node", dll_dir, path_list), dll_dir + "/node");
  // A relative path is relative to the DLL's folder, not to the current one.
  ASSERT_EQ(mkdir((dll_dir + "/tools").c_str(), 0700), 0);
  std::ofstream(dll_dir + "/tools/node") << "";
  EXPECT_EQ(resolve_executable("tools/node", dll_dir, path_list), dll_dir + "/tools/node");
  EXPECT_EQ(resolve_executable("other", dll_dir, path_list), "");
  EXPECT_EQ(resolve_executable(bin + "/node", dll_dir, ""), bin + "/node");
  EXPECT_EQ(resolve_executable(bin + "/missing", dll_dir, ""), "");
}

TEST(status_figures, encode_as_one_json_line_with_strings_escaped) {
  kallithea_isapi::status_figures f;
  f.version = "1.2.3";
  f.requests_in_flight = 7;
  f.last_failure = "bridge exited: \"x\" \\ y\nz\x01";
  std::string json = kallithea_isapi::encode_status(f);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_NE(json.find("\"version\":\"1.2.3\""), std::string::npos);
  EXPECT_NE(json.find("\"requests_in_flight\":7,"), std::string::npos);
  EXPECT_NE(json.find("\"last_failure\":\"bridge exited: \\\"x\\\" \\\\ y\\u000az\\u0001\""),
            std::string::npos)
      << json;
}

TEST(status_figures, the_status_path_is_recognised_only_at_the_end) {
  EXPECT_TRUE(kallithea_isapi::is_status_path("/~kallithea-isapi/status"));
  EXPECT_TRUE(kallithea_isapi::is_status_path("/kallithea/~kallithea-isapi/status"));
  EXPECT_FALSE(kallithea_isapi::is_status_path("/~kallithea-isapi/status/x"));
  EXPECT_FALSE(kallithea_isapi::is_status_path("/repo"));
  EXPECT_FALSE(kallithea_isapi::is_status_path(nullptr));
}
