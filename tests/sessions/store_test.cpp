// The store as the GUI and CLI use it: what a recorder wrote comes back value for value
// (whole-session load, paged and time-range queries), and rename/annotate/delete/list work,
// with clear errors for unknown ids.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "engine/core/error.h"
#include "sessions/session_recorder.h"
#include "sessions/session_store.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

using testing_util::sample_retention;
using testing_util::sample_step;
using testing_util::ScratchDir;

void expect_same_step(const StepStats& a, const StepStats& b) {
  EXPECT_EQ(a.step, b.step);
  EXPECT_DOUBLE_EQ(a.start_seconds, b.start_seconds);
  EXPECT_DOUBLE_EQ(a.wall_seconds, b.wall_seconds);
  EXPECT_EQ(a.batch_size, b.batch_size);
  EXPECT_EQ(a.running, b.running);
  EXPECT_EQ(a.waiting, b.waiting);
  EXPECT_EQ(a.prefill_tokens, b.prefill_tokens);
  EXPECT_EQ(a.decode_tokens, b.decode_tokens);
  EXPECT_EQ(a.admitted, b.admitted);
  EXPECT_EQ(a.finished, b.finished);
  EXPECT_EQ(a.preemptions, b.preemptions);
  EXPECT_EQ(a.evicted_slots, b.evicted_slots);
  EXPECT_EQ(a.blocks_freed_by_eviction, b.blocks_freed_by_eviction);
  EXPECT_EQ(a.blocks_used, b.blocks_used);
  EXPECT_EQ(a.blocks_free, b.blocks_free);
  EXPECT_EQ(a.blocks_total, b.blocks_total);
  EXPECT_EQ(a.peak_blocks_used, b.peak_blocks_used);
  EXPECT_EQ(a.kv_bytes_used, b.kv_bytes_used);
  EXPECT_EQ(a.kv_slots_used, b.kv_slots_used);
  EXPECT_DOUBLE_EQ(a.forward_seconds, b.forward_seconds);
  EXPECT_DOUBLE_EQ(a.eviction_seconds, b.eviction_seconds);
  EXPECT_EQ(a.evictions_per_head, b.evictions_per_head);
}

SessionResult sample_result(const std::string& id, std::optional<double> score) {
  SessionResult r;
  r.id = id;
  r.task = "qa";
  r.metric = score ? "em" : "";
  r.prompt_tokens = 17;
  r.output_text = "l'été \"quoted\"\n";
  r.output_tokens = {1, -1, 383, 0x7fffffff};
  r.score = score;
  r.latency_seconds = 1.25;
  r.first_token_seconds = 0.5;
  r.preemptions = 2;
  r.stopped_at_eos = true;
  return r;
}

Trace sample_trace() {
  Trace t;
  Span s;
  s.name = "gemm";
  s.category = Category::op;
  s.start_ns = 1000;
  s.end_ns = 1500;
  s.track = {Track::Kind::gpu_stream, 0, 7};
  s.step = 3;
  s.args = {{"bytes", int64_t{4096}}, {"util", 0.5}, {"op", std::string("q_proj")}};
  t.spans.push_back(s);
  Span step_span;
  step_span.name = "step";
  step_span.category = Category::step;
  step_span.start_ns = 500;
  step_span.end_ns = 3000;
  step_span.step = 3;
  t.spans.push_back(step_span);
  Instant i;
  i.name = "config change";
  i.time_ns = 2000;
  i.step = 3;
  i.args = {{"key", std::string("budget_tokens")}};
  t.instants.push_back(i);
  t.counters.push_back({"batch_size", 4, 3, 2500});
  t.counters.push_back({"kv_blocks_used", 40, 3, 2500});
  t.tracks.push_back({{Track::Kind::gpu_stream, 0, 7}, "GPU 0 stream 7"});
  return t;
}

// A session with every kind of row; returns its id.
int64_t record_full_session(const std::string& path) {
  SessionRecorder recorder(path, testing_util::sample_session("full"));
  for (int64_t i = 0; i < 50; ++i) {
    StepStats s = sample_step(i);
    if (i % 10 == 0) s.retention = sample_retention(i);
    if (i == 20) {
      nlohmann::json changed = testing_util::sample_session().config;
      changed["policy"]["budget_tokens"] = 64;
      recorder.record_config_change(i, changed);
    }
    EXPECT_TRUE(recorder.record_step(std::move(s)));
  }
  recorder.record_result(sample_result("r1", 1.0));
  recorder.record_result(sample_result("r2", std::nullopt));
  EvictionMap map;
  map.request_id = "r1";
  map.step = 49;
  map.context_length = 3;
  map.heads.push_back({0, 1, {-1, 12, -1}, {0.5f, 0.01f, 0.25f}});
  recorder.record_eviction_map(map);
  recorder.record_trace(sample_trace());
  recorder.finish({{"steps", 50}, {"generated_tokens_per_second", 123.5}});
  return recorder.session_id();
}

TEST(SessionStore, LoadReturnsEverythingTheRecorderWrote) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  const int64_t id = record_full_session(path);
  SessionStore store = SessionStore::open(path);
  const Session s = store.load(id);

  EXPECT_EQ(s.info.name, "full");
  EXPECT_EQ(s.info.description, "made by a test");
  EXPECT_EQ(s.info.model, "tests/fixtures/models/llama-tied");
  EXPECT_EQ(s.info.backend, "cpu");
  EXPECT_EQ(s.info.device, "test CPU");
  EXPECT_FALSE(s.info.kvwb_version.empty());
  EXPECT_EQ(s.info.status, SessionStatus::finished);
  EXPECT_EQ(s.info.created.size(), 20u);  // 2026-01-01T00:00:00Z
  EXPECT_EQ(s.info.config, testing_util::sample_session().config);
  EXPECT_EQ(s.info.steps, 50);
  EXPECT_EQ(s.info.dropped_items, 0);

  ASSERT_EQ(s.steps.size(), 50u);
  for (int64_t i = 0; i < 50; ++i) expect_same_step(s.steps[i], sample_step(i));

  ASSERT_EQ(s.retention.size(), 5u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(s.retention[k].step, static_cast<int64_t>(10 * k));
    const std::vector<HeadRetention> expected = sample_retention(10 * static_cast<int64_t>(k));
    ASSERT_EQ(s.retention[k].heads.size(), expected.size());
    for (size_t h = 0; h < expected.size(); ++h) {
      EXPECT_EQ(s.retention[k].heads[h].request_id, expected[h].request_id);
      EXPECT_EQ(s.retention[k].heads[h].positions, expected[h].positions);
    }
  }

  ASSERT_EQ(s.config_changes.size(), 1u);
  EXPECT_EQ(s.config_changes[0].step, 20);
  EXPECT_EQ(s.config_changes[0].config["policy"]["budget_tokens"], 64);

  ASSERT_EQ(s.results.size(), 2u);
  const SessionResult expected = sample_result("r1", 1.0);
  EXPECT_EQ(s.results[0].id, "r1");
  EXPECT_EQ(s.results[0].output_text, expected.output_text);
  EXPECT_EQ(s.results[0].output_tokens, expected.output_tokens);
  EXPECT_EQ(s.results[0].score, 1.0);
  EXPECT_EQ(s.results[0].prompt_tokens, 17);
  EXPECT_DOUBLE_EQ(s.results[0].latency_seconds, 1.25);
  EXPECT_DOUBLE_EQ(s.results[0].first_token_seconds, 0.5);
  EXPECT_EQ(s.results[0].preemptions, 2);
  EXPECT_TRUE(s.results[0].stopped_at_eos);
  EXPECT_FALSE(s.results[1].score.has_value());

  ASSERT_EQ(s.eviction_maps.size(), 1u);
  EXPECT_EQ(s.eviction_maps[0].heads[0].evicted_at_step, (std::vector<int32_t>{-1, 12, -1}));
  EXPECT_EQ(s.eviction_maps[0].heads[0].scores[1], 0.01f);

  ASSERT_EQ(s.events.spans.size(), 2u);
  EXPECT_EQ(s.events.spans[0].name, "step");  // time order
  const Span& gemm = s.events.spans[1];
  EXPECT_EQ(gemm.category, Category::op);
  EXPECT_EQ(gemm.track, (Track{Track::Kind::gpu_stream, 0, 7}));
  EXPECT_EQ(gemm.duration_ns(), 500);
  EXPECT_EQ(gemm.args, sample_trace().spans[0].args);  // order and types kept
  ASSERT_EQ(s.events.instants.size(), 1u);
  EXPECT_EQ(s.events.instants[0].category, Category::config);
  EXPECT_EQ(s.events.instants[0].time_ns, 2000);
  ASSERT_EQ(s.events.counters.size(), 2u);
  EXPECT_EQ(s.events.counters[0].value, 4);
  ASSERT_EQ(s.events.tracks.size(), 1u);
  EXPECT_EQ(s.events.tracks[0].name, "GPU 0 stream 7");

  EXPECT_EQ(s.summary["generated_tokens_per_second"], 123.5);
}

TEST(SessionStore, PagedAndRangedQueriesReturnTheRequestedSlices) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  const int64_t id = record_full_session(path);
  SessionStore store = SessionStore::open(path);
  const std::vector<StepStats> page = store.steps(id, 30, 5);
  ASSERT_EQ(page.size(), 5u);
  for (int64_t i = 0; i < 5; ++i) expect_same_step(page[i], sample_step(30 + i));
  EXPECT_EQ(store.steps(id, 48, 100).size(), 2u);
  EXPECT_TRUE(store.steps(id, 50).empty());

  EXPECT_EQ(store.retention_steps(id), (std::vector<int64_t>{0, 10, 20, 30, 40}));
  const std::vector<RetentionSnapshot> mid = store.retention(id, 15, 35);
  ASSERT_EQ(mid.size(), 2u);
  EXPECT_EQ(mid[0].step, 20);
  EXPECT_EQ(mid[1].step, 30);

  const SessionEvents window = store.events(id, 900, 2001);
  ASSERT_EQ(window.spans.size(), 1u);  // the step span starts at 500, outside
  EXPECT_EQ(window.spans[0].name, "gemm");
  EXPECT_EQ(window.instants.size(), 1u);
  EXPECT_TRUE(window.counters.empty());  // sampled at 2500

  EXPECT_TRUE(store.eviction_map(id, "r1").has_value());
  EXPECT_FALSE(store.eviction_map(id, "nobody").has_value());
}

TEST(SessionStore, RenameAnnotateDeleteAndList) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  const int64_t a = record_full_session(path);
  const int64_t b = record_full_session(path);
  SessionStore store = SessionStore::open(path);
  store.rename(a, "baseline");
  store.annotate(b, "budget 64 from step 20");
  std::vector<SessionInfo> all = store.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "baseline");
  EXPECT_EQ(all[1].description, "budget 64 from step 20");
  EXPECT_NE(all[0].uid, all[1].uid);

  store.remove(a);
  all = store.list();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, b);
  // Nothing of the deleted session is left behind in any table.
  for (const char* table : {"steps", "results", "retention", "eviction_maps", "events", "counters", "config_changes",
                            "tracks"}) {
    EXPECT_EQ(store.database().query_int(fmt::format("SELECT count(*) FROM {} WHERE session = {}", table, a)), 0)
        << table;
  }
  EXPECT_EQ(store.load(b).steps.size(), 50u);
}

TEST(SessionStore, UnknownIdsAndEmptyNamesAreErrorsNamingTheFile) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  record_full_session(path);
  SessionStore store = SessionStore::open(path);
  for (auto action : std::vector<std::function<void()>>{
           [&] { store.info(42); }, [&] { store.load(42); }, [&] { store.steps(42); }, [&] { store.rename(42, "x"); },
           [&] { store.annotate(42, "x"); }, [&] { store.remove(42); },
           [&] { store.export_session(42, dir.file("out.db")); }}) {
    try {
      action();
      ADD_FAILURE() << "no error for an unknown session";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), path + ": no session #42");
    }
  }
  EXPECT_THROW(store.rename(1, ""), Error);
  EXPECT_EQ(store.list().size(), 1u);
}

TEST(SessionStore, DefaultPathFollowsXdgDataHomeThenHome) {
  const char* old_xdg = std::getenv("XDG_DATA_HOME");
  const char* old_home = std::getenv("HOME");
  const std::string saved_xdg = old_xdg ? old_xdg : "", saved_home = old_home ? old_home : "";
  setenv("XDG_DATA_HOME", "/data/x", 1);
  EXPECT_EQ(default_session_db_path(), "/data/x/kvwb/sessions.db");
  unsetenv("XDG_DATA_HOME");
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_session_db_path(), "/home/u/.local/share/kvwb/sessions.db");
  if (old_xdg) setenv("XDG_DATA_HOME", saved_xdg.c_str(), 1);
  if (old_home) setenv("HOME", saved_home.c_str(), 1);
  else unsetenv("HOME");
}

TEST(SessionStore, OpeningCreatesMissingParentDirectories) {
  ScratchDir dir;
  const std::string path = dir.file("a/b/c/sessions.db");
  SessionStore store = SessionStore::open(path);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(store.list().empty());
  EXPECT_THROW(SessionStore::open(dir.file("missing.db"), sqlite::OpenMode::read_write), Error);
}

}  // namespace
}  // namespace kvwb
