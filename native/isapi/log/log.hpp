// The DLL's log file: one line per start, stop, supervision event and error, with a UTC
// timestamp and a level. Callers only queue a line (a mutex and a deque); one writer
// thread appends to the file, so no request ever waits on the disk. The queue is bounded:
// past max_queued_lines, lines are counted and the count is logged instead. When the file
// cannot be opened the lines are not dropped silently: the failure is said once on the
// debugger channel (OutputDebugString on Windows, stderr on POSIX), kept for error pages
// (write_failure()), and the number of lost lines is written once the file opens again.
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

  /// Empty while the file can be written; else one sentence naming the file and the reason.
  std::string write_failure() const;

private:
  void run();
  /// Writer thread: the file could not be opened for a batch of `lines` lines.
  void note_open_failure(const std::string& reason, std::size_t lines);

  static constexpr std::size_t max_queued_lines = 10000;
  std::string path_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::deque<std::string> queue_;
  std::size_t dropped_ = 0;
  std::size_t written_seq_ = 0; ///< lines handed to the file so far
  std::size_t queued_seq_ = 0;  ///< lines accepted so far
  bool stopping_ = false;
  std::string write_failure_; ///< guarded by mutex_
  std::size_t lost_ = 0;      ///< writer thread: lines lost since the file last opened
  std::thread writer_;
};

} // namespace kallithea_isapi
