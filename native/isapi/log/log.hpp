// The DLL's log file: one line per start, stop, supervision event and error, with a UTC
// timestamp and a level. Callers only queue a line (a mutex and a deque); one writer
// thread appends to the file, so no request ever waits on the disk. The queue is bounded:
// past max_queued_lines, lines are counted and the count is logged instead.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace kallithea_isapi {

enum class log_level { info, warn, error };

class logger {
public:
  /// Starts the writer thread; `path` is opened for append on each batch ("" = stderr).
  explicit logger(std::string path);
  /// Ends the writer after flushing every queued line.
  ~logger();
  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  /// Queues one line; safe from any thread, never blocks on I/O.
  void write(log_level level, const std::string& message);
  void info(const std::string& m) { write(log_level::info, m); }
  void warn(const std::string& m) { write(log_level::warn, m); }
  void error(const std::string& m) { write(log_level::error, m); }

  /// Waits until every line queued so far is on disk (used at stop and in tests).
  void flush();

  const std::string& path() const { return path_; }

private:
  void run();

  static constexpr std::size_t max_queued_lines = 10000;
  std::string path_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::deque<std::string> queue_;
  std::size_t dropped_ = 0;
  std::size_t written_seq_ = 0; ///< lines handed to the file so far
  std::size_t queued_seq_ = 0;  ///< lines accepted so far
  bool stopping_ = false;
  std::thread writer_;
};

} // namespace kallithea_isapi
