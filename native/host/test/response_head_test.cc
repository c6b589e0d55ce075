#include "response_head.h"

#include <gtest/gtest.h>

namespace isapi_host {
namespace {

std::string check(const std::string& status, const std::string& block, ResponseHead& head) {
  return check_response_head(status, block, head);
}

TEST(ResponseHead, AcceptsAWellFormedHeadAndFindsItsFraming) {
  ResponseHead head;
  EXPECT_EQ(check("201 Created", "Content-Length: 12\r\nX-A: b\tc\r\n\r\nbody", head), "");
  EXPECT_EQ(head.status, 201u);
  EXPECT_TRUE(head.has_length);
  EXPECT_EQ(head.content_length, 12u);
  EXPECT_FALSE(head.chunked);
  EXPECT_EQ(head.body_offset, 32u); // just after the blank line
  EXPECT_EQ(head.reason, "Created");
  EXPECT_EQ(head.fields, "Content-Length\n12\nX-A\nb\tc");
}

TEST(ResponseHead, GivesTheFieldsTrimmedAndInOrderForJavaScript) {
  ResponseHead head;
  EXPECT_EQ(check("200", " X-Empty:\nSet-Cookie: a \r\nset-cookie:\tb\r\n\r\n", head), "");
  EXPECT_EQ(head.reason, "");
  EXPECT_EQ(head.fields, "X-Empty\n\nSet-Cookie\na\nset-cookie\nb");
  EXPECT_EQ(check("", "", head), "");
  EXPECT_EQ(head.reason, "OK");
  EXPECT_EQ(head.fields, "");
}

TEST(ResponseHead, ToleratesTheFormsModIsapiTakes) {
  ResponseHead head;
  EXPECT_EQ(check("HTTP/1.1 404 Not Found", "\r\n", head), "");
  EXPECT_EQ(head.status, 404u);
  EXPECT_EQ(head.reason, "Not Found");
  EXPECT_EQ(check("Status: 302 Found", "Location: /x\n\n", head), "");
  EXPECT_EQ(head.status, 302u);
  EXPECT_EQ(check("", "Transfer-Encoding: chunked\r\n\r\n", head), "");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.chunked);
}

TEST(ResponseHead, RefusesWhatNodeCannotSend) {
  ResponseHead head;
  EXPECT_NE(check("000 Nothing", "\r\n", head), "");
  EXPECT_NE(check("99 Low", "\r\n", head), "");
  EXPECT_NE(check("OK", "\r\n", head), "");
  EXPECT_NE(check("200 O\x01K", "\r\n", head), "");
  EXPECT_NE(check("200 OK", "Bad Name: x\r\n\r\n", head), "");
  EXPECT_NE(check("200 OK", "X-Bad: a\x01z\r\n\r\n", head), "");
  EXPECT_NE(check("200 OK", "X-Bad: a\x7Fz\r\n\r\n", head), "");
  EXPECT_NE(check("200 OK", "no colon here\r\n\r\n", head), "");
  EXPECT_NE(check("200 OK", ": no name\r\n\r\n", head), "");
  EXPECT_NE(check("200 OK", "Content-Length: 1x\r\n\r\n", head), "");
  EXPECT_NE(check("200 OK", "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", head), "");
}

TEST(ResponseHead, ObsTextIsAFieldByte) {
  ResponseHead head;
  EXPECT_EQ(check("200 OK", "X-Name: caf\xE9\r\n\r\n", head), "");
}

} // namespace
} // namespace isapi_host
