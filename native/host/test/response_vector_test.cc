#include "response_vector.h"

#include <gtest/gtest.h>

namespace isapi_host {
namespace {

char body[] = "body";
char status[] = "200 OK";
char headers[] = "Content-Length: 4\r\n\r\n";

/// A well-formed vector: the head and one memory buffer, asynchronous.
struct good_vector {
  HSE_VECTOR_ELEMENT element{};
  HSE_RESPONSE_VECTOR vector{};
  good_vector() {
    element.ElementType = HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER;
    element.pvContext = body;
    element.cbSize = 4;
    vector.dwFlags = HSE_IO_ASYNC | HSE_IO_SEND_HEADERS | HSE_IO_FINAL_SEND;
    vector.pszStatus = status;
    vector.pszHeaders = headers;
    vector.nElementCount = 1;
    vector.lpElementArray = &element;
  }
};

TEST(ResponseVector, AcceptsTheHeadWithBuffersAndBuffersAlone) {
  good_vector v;
  EXPECT_EQ(check_response_vector(&v.vector), "");
  v.vector.dwFlags = HSE_IO_SYNC; // no head: both pointers null
  v.vector.pszStatus = v.vector.pszHeaders = nullptr;
  EXPECT_EQ(check_response_vector(&v.vector), "");
  EXPECT_FALSE(has_file_element(v.vector));
  v.element.ElementType = HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE; // valid, not served here
  v.element.pvContext = nullptr;
  EXPECT_EQ(check_response_vector(&v.vector), "");
  EXPECT_TRUE(has_file_element(v.vector));
  v.vector.nElementCount = 0; // nothing at all: allowed
  v.vector.lpElementArray = nullptr;
  EXPECT_EQ(check_response_vector(&v.vector), "");
}

TEST(ResponseVector, RefusesWhatIisDocumentsAsInvalidAndWhatThisHostCannotServe) {
  EXPECT_NE(check_response_vector(nullptr), "");
  auto refused = [](void (*spoil)(good_vector&), const char* words) {
    good_vector v;
    spoil(v);
    EXPECT_NE(check_response_vector(&v.vector).find(words), std::string::npos)
        << check_response_vector(&v.vector);
  };
  refused([](good_vector& v) { v.vector.dwFlags |= HSE_IO_SYNC; }, "exactly one of");
  refused([](good_vector& v) { v.vector.dwFlags &= ~HSE_IO_ASYNC; }, "exactly one of");
  refused([](good_vector& v) { v.vector.pszHeaders = nullptr; }, "null status or header");
  refused([](good_vector& v) { v.vector.dwFlags &= ~HSE_IO_SEND_HEADERS; }, "without HSE_IO_SEND");
  refused([](good_vector& v) { v.vector.lpElementArray = nullptr; }, "null element array");
  refused([](good_vector& v) { v.element.ElementType = 7; }, "unknown type 7");
  refused([](good_vector& v) { v.element.pvContext = nullptr; }, "null buffer of 4 bytes");
  refused([](good_vector& v) { v.element.cbOffset = 1; }, "offset");
  refused([](good_vector& v) { v.element.cbSize = 0x100000000ull; }, "more than 4 GiB");
}

} // namespace
} // namespace isapi_host
