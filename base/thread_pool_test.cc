#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>

namespace kura::base {
namespace {

TEST(ThreadPoolTest, TaskGroupRunsAllAndKeepsFirstError) {
  ThreadPool pool(3);
  std::atomic<int> n{0};
  TaskGroup g(&pool);
  for (int i = 0; i < 100; ++i) {
    g.run([&n, i]() -> Status {
      ++n;
      if (i == 50) return data_loss("task 50");
      return ok_status();
    });
  }
  Status st = g.wait();
  EXPECT_EQ(n.load(), 100);
  EXPECT_EQ(st.message(), "task 50");
}

TEST(ThreadPoolTest, BoundedQueueHandsOff) {
  BoundedQueue<int> q(2);
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(q.push(i));
    q.close();
  });
  long sum = 0;
  while (auto v = q.pop()) sum += *v;
  producer.join();
  EXPECT_EQ(sum, 999L * 1000 / 2);
  EXPECT_FALSE(q.push(1));
}

}  // namespace
}  // namespace kura::base
