// The eviction map's protected marks against the engine: with a budget of one token, a policy
// keeps exactly what its protection rule holds (protected slots never go, everything else
// does), so at every step where it compressed, the cells marked protected must be exactly the
// positions the engine retained. streaming-llm compresses every step (decode_interval 1);
// SnapKV compresses once, when the prompt is in, and protects its observation window too.
#include <gtest/gtest.h>

#include <set>

#include "run/run.h"
#include "sessions/session_types.h"
#include "tests/ui/ui_test_util.h"
#include "ui/models/session_replay.h"

namespace kvwb {
namespace {

using ui_test::TempDir;

struct Case {
  const char* policy;
  int64_t window;
};

TEST(ProtectionMarks, EqualWhatThePolicyKeepsWhenItKeepsOnlyWhatItProtects) {
  for (const Case c : {Case{"streaming-llm", 4}, Case{"snapkv", 12}}) {
    SCOPED_TRACE(c.policy);
    TempDir dir;
    RunConfig config = ui_test::fixture_config(ui_test::write_workload(dir, 1, 40, 6));
    config.kv_pool_bytes = int64_t{4} << 20;
    config.block_size = 8;
    config.prefill_chunk = 16;
    config.policy.name = c.policy;
    config.policy.budget_tokens = 1;
    config.policy.sinks = 3;
    config.policy.protected_recent = 5;
    config.policy.window = c.window;  // SnapKV protects max(protected_recent, window) newest tokens
    config.policy.decode_interval = 1;
    kvwb::Run run(config);
    Session session;
    session.info.config = run_config_to_json(config);
    std::vector<StepStats> steps;
    while (!run.done()) {
      run.engine().request_retention_snapshot();
      StepStats s = run.step().stats;
      session.retention.push_back({s.step, s.retention});
      steps.push_back(std::move(s));
    }
    SessionReplay replay;
    replay_session(session, replay);
    const ProtectedSpan span = replay.protection.at(0);
    EXPECT_EQ(span.sinks, 3);
    EXPECT_EQ(span.recent, std::string(c.policy) == "snapkv" ? 12 : 5);  // by hand from the rule
    int compared = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].evicted_slots == 0) continue;  // marks equal retention only where it compressed
      const std::string id = steps[i].retention.empty() ? "" : steps[i].retention[0].request_id;
      const HeadTimeline t = heads_at_snapshot(session, replay, id, i, &replay.protection);
      for (const HeadRetention& h : steps[i].retention) {
        const std::set<int32_t> kept(h.positions.begin(), h.positions.end());
        const size_t row = static_cast<size_t>(h.layer * replay.kv_heads + h.head);
        for (int64_t p = 0; p < t.positions; ++p) {
          const double v = t.cells[row * static_cast<size_t>(t.positions) + static_cast<size_t>(p)];
          EXPECT_EQ(v == HeadTimeline::kProtected, kept.count(static_cast<int32_t>(p)) == 1)
              << "step " << steps[i].step << " layer " << h.layer << " head " << h.head << " position " << p;
          EXPECT_NE(v, HeadTimeline::kKept);  // nothing is kept unprotected at a budget of one
        }
        ++compared;
      }
    }
    EXPECT_GT(compared, 0);
  }
}

}  // namespace
}  // namespace kvwb
