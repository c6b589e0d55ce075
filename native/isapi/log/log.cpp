#include "log/log.hpp"

#include "platform/files.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#if defined(_WIN32)
#include <windows.h>
#endif

namespace kallithea_isapi {
namespace {

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
#if defined(_WIN32)
  gmtime_s(&tm, &t);
#else
  gmtime_r(&t, &tm);
#endif
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

const char* level_name(log_level l) {
  switch (l) {
  case log_level::info:
    return "INFO";
  case log_level::warn:
    return "WARN";
  case log_level::error:
    return "ERROR";
  }
  return "?";
}

} // namespace

logger::logger(std::string path) : path_(std::move(path)), writer_([this] { run(); }) {}

logger::~logger() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void logger::write(log_level level, const std::string& message) {
  std::string line = timestamp() + " " + level_name(level) + " " + message;
  // One line per entry: a message never spans lines in the file.
  for (auto& ch : line)
    if (ch == '\n' || ch == '\r')
      ch = ' ';
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= max_queued_lines) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(line));
    ++queued_seq_;
  }
  wake_.notify_one();
}

void logger::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  std::size_t target = queued_seq_;
  flushed_.wait(lock, [&] { return written_seq_ >= target; });
}

std::string logger::write_failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return write_failure_;
}

void logger::note_open_failure(const std::string& reason, std::size_t lines) {
  lost_ += lines;
  std::string text = "kallithea_isapi cannot write its log file " + path_ + ": " + reason;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (write_failure_ == text)
      return; // said once already
    write_failure_ = text;
  }
#if defined(_WIN32)
  OutputDebugStringW(widen(text + "\n").c_str());
#else
  std::fprintf(stderr, "%s\n", text.c_str());
#endif
}

void logger::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_)
      break;
    std::deque<std::string> batch;
    batch.swap(queue_);
    std::size_t dropped = dropped_;
    dropped_ = 0;
    lock.unlock();
    std::string reason;
    std::FILE* f = path_.empty() ? stderr : open_for_append(path_, reason);
    if (!f) {
      note_open_failure(reason, batch.size() + dropped);
    } else {
      if (lost_ > 0) {
        std::fprintf(f, "%s WARN %zu lines were lost while the log file could not be opened\n",
                     timestamp().c_str(), lost_);
        lost_ = 0;
        std::lock_guard<std::mutex> guard(mutex_);
        write_failure_.clear();
      }
      for (auto& l : batch) {
        std::fputs(l.c_str(), f);
        std::fputc('\n', f);
      }
      if (dropped)
        std::fprintf(f, "%s WARN log queue full: %zu lines dropped\n", timestamp().c_str(),
                     dropped);
      if (f != stderr)
        std::fclose(f);
      else
        std::fflush(f);
    }
    lock.lock();
    written_seq_ += batch.size();
    flushed_.notify_all();
  }
  written_seq_ = queued_seq_;
  flushed_.notify_all();
}

} // namespace kallithea_isapi
