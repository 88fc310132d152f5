using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Tests.Failures;

/// <summary>
/// The output-token rollups (migration 0090) stay exact under concurrent writes to conversations (the failures' side
/// races in <see cref="FailureCountsRollupTests"/>), and a histogram summed from them equals one read from the rows.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class OutputTokenRollupTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private const string ConversationsSql = """
        INSERT INTO conversations (run_id, model, stop_reason, input_tokens, output_tokens, turns, created_by, created_at)
        SELECT (ARRAY[@runA, @runB])[1 + g % 2], CASE WHEN g % 3 = 0 THEN 'claude-haiku-4-5' ELSE 'claude-sonnet-4-5' END,
               'end_turn', 100, CASE WHEN g % 13 = 0 THEN NULL ELSE (g * 89) % 7000 END, '[]'::jsonb,
               (ARRAY[@userA, @userB])[1 + (g / 5) % 2],
               timestamptz '2026-03-01 00:00:00+00' + (g % 72) * interval '1 hour' + random() * interval '59 minutes'
        FROM generate_series(1, @count) AS g
        """;

    [Fact]
    public async Task Conversation_rollup_equals_the_rows_after_concurrent_inserts_updates_and_deletes()
    {
        await using var db = await env.CreateDatabaseAsync();
        var keys = new { userA = (await db.CreateUserAsync()).Id, userB = (await db.CreateUserAsync()).Id, runA = Guid.NewGuid(), runB = Guid.NewGuid() };
        await using (var seed = await db.DataSource.OpenConnectionAsync())
        {
            await seed.ExecuteAsync(ConversationsSql, new { keys.userA, keys.userB, keys.runA, keys.runB, count = 300 });
        }

        async Task Insert()
        {
            for (var i = 0; i < 6; i++)
            {
                await using var c = await db.DataSource.OpenConnectionAsync();
                await c.ExecuteAsync(ConversationsSql, new { keys.userA, keys.userB, keys.runA, keys.runB, count = 60 + i });
            }
        }

        // Updates and deletes take disjoint rows (user B's, user A's), so only the rollup rows are contended.
        async Task Update()
        {
            for (var i = 0; i < 10; i++)
            {
                await using var c = await db.DataSource.OpenConnectionAsync();
                await c.ExecuteAsync("""
                    UPDATE conversations
                    SET output_tokens = CASE WHEN output_tokens IS NULL THEN 40 WHEN output_tokens % 4 = 0 THEN NULL ELSE output_tokens + 60 END,
                        model = CASE WHEN output_tokens % 5 = 0 THEN 'claude-opus-4-5' ELSE model END
                    WHERE id IN (SELECT id FROM conversations WHERE created_by = @userB ORDER BY random() LIMIT 20)
                    """, keys);
                await c.ExecuteAsync("UPDATE conversations SET metadata = '{\"touched\": true}' WHERE id IN (SELECT id FROM conversations WHERE created_by = @userB LIMIT 30)", keys);
            }
        }

        async Task Delete()
        {
            for (var i = 0; i < 10; i++)
            {
                await using var c = await db.DataSource.OpenConnectionAsync();
                await c.ExecuteAsync("DELETE FROM conversations WHERE id IN (SELECT id FROM conversations WHERE created_by = @userA ORDER BY created_at LIMIT 15)", keys);
            }
        }

        await Task.WhenAll(Task.Run(Insert), Task.Run(Insert), Task.Run(Update), Task.Run(Delete));

        await using var check = await db.DataSource.OpenConnectionAsync();
        Assert.True(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations WHERE output_tokens IS NOT NULL") > 300);
        Assert.Equal(0, await check.ExecuteScalarAsync<long>(FailureCountsRollupTests.TokenMismatchSql));
        Assert.True(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM conversation_token_counts WHERE model = 'claude-opus-4-5' AND n > 0") > 0);

        await check.ExecuteAsync("DELETE FROM app_users WHERE id = @userB", keys);
        Assert.Equal(0, await check.ExecuteScalarAsync<long>(FailureCountsRollupTests.TokenMismatchSql));
        await check.ExecuteAsync("TRUNCATE conversations");
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM conversation_token_counts"));
    }

    [Theory]
    [InlineData(100, 51)]  // the insights tab
    [InlineData(150, 41)]  // a comparison of runs with max_tokens 6,000
    [InlineData(50, 200)]
    [InlineData(120, 30)]  // not whole rollup buckets: read from the rows
    public async Task Histogram_from_the_rollups_equals_the_histogram_of_the_rows(int width, int buckets)
    {
        await using var db = await env.CreateDatabaseAsync();
        var member = (await db.CreateUserAsync()).Id;
        var other = (await db.CreateUserAsync()).Id;
        var run = Guid.NewGuid();
        var keys = new { userA = member, userB = other, runA = run, runB = Guid.NewGuid() };
        await using var c = await db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync(FailureCountsRollupTests.BulkInsertSql(400), keys);
        await c.ExecuteAsync(ConversationsSql, new { keys.userA, keys.userB, keys.runA, keys.runB, count = 300 });
        // Every edge, once each inside the filter and once outside it: bucket boundaries, the open-ended last bucket's
        // start and beyond, a negative count (below the first).
        await c.ExecuteAsync("""
            INSERT INTO failed_generations (id, run_id, prompt, prompt_length, model, max_tokens, raw_response, raw_body,
                stop_reason, output_tokens, http_status, streamed, failure_type, truncation_pattern, detection_confidence,
                created_at, created_by)
            SELECT gen_random_uuid(), run, 'p', 1, 'claude-sonnet-4-5', 4096, '{}'::jsonb, '{}', 'end_turn', tokens, 200, false,
                   'truncation', 'mid_word', 'high', timestamptz '2026-03-01 12:00:00+00', @member
            FROM unnest(ARRAY[-5, 0, 49, 50, 99, 100, 119, 120, 149, 150, 3480, 3600, 4999, 5000, 5001, 9950, 9999, 10000, 24576]) AS tokens,
                 unnest(ARRAY[@run, @otherRun]) AS run
            """, new { member, run, otherRun = keys.runB });

        var filter = new FailedGenerationFilter
        {
            RunId = run,
            FailureType = FailureType.Truncation,
            From = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero),
            To = new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero),
        };
        Assert.Equal(width % 50 == 0, FailedGenerationReader.CanUseTokenRollup(filter, width));

        var reader = db.Get<FailedGenerationReader>();
        var histogram = await reader.GetOutputTokenHistogramAsync(DbIdentity.User(member), filter, width, buckets, None);
        var unfiltered = await reader.GetOutputTokenHistogramAsync(DbIdentity.User(member), new FailedGenerationFilter(), width, buckets, None);

        // The member's rows only (row-level security), bucketed by width_bucket as the rows' own query does; all: no filter.
        async Task<IEnumerable<(int Bucket, long Failures, long Successes)>> ExpectedAsync(bool all) =>
            await c.QueryAsync<(int Bucket, long Failures, long Successes)>("""
                WITH f AS (
                    SELECT width_bucket(output_tokens, 0, @upper, @buckets - 1) AS b, count(*) AS n FROM failed_generations
                    WHERE created_by = @member AND output_tokens IS NOT NULL AND (@all OR (run_id = @run AND failure_type = 'truncation'
                      AND created_at >= '2026-03-01 00:00:00+00' AND created_at < '2026-03-03 00:00:00+00')) GROUP BY 1),
                s AS (
                    SELECT width_bucket(output_tokens, 0, @upper, @buckets - 1) AS b, count(*) AS n FROM conversations
                    WHERE created_by = @member AND output_tokens IS NOT NULL AND (@all OR (run_id = @run
                      AND created_at >= '2026-03-01 00:00:00+00' AND created_at < '2026-03-03 00:00:00+00')) GROUP BY 1)
                SELECT g, COALESCE(f.n, 0), COALESCE(s.n, 0)
                FROM generate_series(1, @buckets) g LEFT JOIN f ON f.b = g LEFT JOIN s ON s.b = g ORDER BY g
                """, new { upper = width * (buckets - 1), buckets, member, run, all });
        var expected = await ExpectedAsync(all: false);
        var expectedAll = await ExpectedAsync(all: true);

        static string Show(IEnumerable<(int LowerBound, long Failures, long Successes)> rows) =>
            string.Join(" ", rows.Select(r => $"{r.LowerBound}:{r.Failures}/{r.Successes}"));
        Assert.Equal(
            Show(expected.Select(e => ((e.Bucket - 1) * width, e.Failures, e.Successes))),
            Show(histogram.Select(h => (h.LowerBound, h.Failures, h.Successes))));
        Assert.Equal(
            Show(expectedAll.Select(e => ((e.Bucket - 1) * width, e.Failures, e.Successes))),
            Show(unfiltered.Select(h => (h.LowerBound, h.Failures, h.Successes))));
        // The data reaches the edges the rollup must get right: both ends and the open-ended bucket.
        Assert.True(histogram[0].Failures > 0 && histogram[^1].Failures > 0 && histogram.Sum(h => h.Successes) > 0);
    }
}
