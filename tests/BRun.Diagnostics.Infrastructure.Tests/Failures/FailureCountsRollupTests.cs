using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Testing;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.Failures;

/// <summary>
/// The rollup failed_generation_counts (migration 0070) must equal count(*) of failed_generations per key after any
/// mix of concurrent writers, and so must the search copy (0089) row for row; the reader's counts from either must
/// equal a scan of the rows.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class FailureCountsRollupTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>Per-key differences between the rollup and the rows; empty when the rollup is exact.</summary>
    internal const string MismatchSql = """
        WITH actual AS (
            SELECT created_by, (created_at AT TIME ZONE 'UTC')::date AS day, run_id, failure_type, stop_reason,
                   truncation_pattern, model, count(*) AS n
            FROM failed_generations GROUP BY 1, 2, 3, 4, 5, 6, 7),
        rolled AS (
            SELECT created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, n
            FROM failed_generation_counts WHERE n <> 0)
        SELECT count(*) FROM (
            (SELECT * FROM actual EXCEPT ALL SELECT * FROM rolled)
            UNION ALL
            (SELECT * FROM rolled EXCEPT ALL SELECT * FROM actual)) AS diff
        """;

    /// <summary>Rows of failed_generations missing from the search copy, or copied wrongly, plus copies of nothing; 0 when exact.</summary>
    internal const string SearchMismatchSql = """
        WITH actual AS (
            SELECT id, created_by, created_at, run_id, failure_type, stop_reason, truncation_pattern, model,
                   lower(truncation_details) AS details, lower(error_message) AS errors
            FROM failed_generations),
        copied AS (
            SELECT s.id, s.created_by, s.created_at, d.run_id, d.failure_type, d.stop_reason, d.truncation_pattern, d.model,
                   s.details, s.errors
            FROM failed_generation_search s
            LEFT JOIN failed_generation_dimensions d ON d.id = s.dimensions AND d.created_by = s.created_by)
        SELECT count(*) FROM (
            (SELECT * FROM actual EXCEPT ALL SELECT * FROM copied)
            UNION ALL
            (SELECT * FROM copied EXCEPT ALL SELECT * FROM actual)) AS diff
        """;

    /// <summary>Per-key differences between the token rollups (0090) and the rows of both tables; 0 when both are exact.</summary>
    internal const string TokenMismatchSql = """
        WITH actual AS (
            SELECT created_by, (created_at AT TIME ZONE 'UTC')::date AS day, run_id, failure_type, stop_reason,
                   truncation_pattern, model, CASE WHEN output_tokens < 0 THEN -1 ELSE output_tokens / 50 END AS bucket,
                   count(*) AS n
            FROM failed_generations WHERE output_tokens IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8),
        rolled AS (
            SELECT created_by, day, run_id, failure_type, stop_reason, truncation_pattern, model, bucket, n
            FROM failed_generation_token_counts WHERE n <> 0),
        actual_conversations AS (
            SELECT created_by, (created_at AT TIME ZONE 'UTC')::date AS day, run_id, model,
                   CASE WHEN output_tokens < 0 THEN -1 ELSE output_tokens / 50 END AS bucket, count(*) AS n
            FROM conversations WHERE output_tokens IS NOT NULL GROUP BY 1, 2, 3, 4, 5),
        rolled_conversations AS (
            SELECT created_by, day, run_id, model, bucket, n FROM conversation_token_counts WHERE n <> 0)
        SELECT (SELECT count(*) FROM (
                    (SELECT * FROM actual EXCEPT ALL SELECT * FROM rolled)
                    UNION ALL
                    (SELECT * FROM rolled EXCEPT ALL SELECT * FROM actual)) AS diff)
             + (SELECT count(*) FROM (
                    (SELECT * FROM actual_conversations EXCEPT ALL SELECT * FROM rolled_conversations)
                    UNION ALL
                    (SELECT * FROM rolled_conversations EXCEPT ALL SELECT * FROM actual_conversations)) AS diff)
        """;

    /// <summary>Inserts <paramref name="count"/> rows in one statement, as a bulk SQL load would.</summary>
    internal static string BulkInsertSql(int count) => $$"""
        INSERT INTO failed_generations (id, run_id, prompt, prompt_length, model, max_tokens, raw_response, raw_body,
            stop_reason, output_tokens, http_status, streamed, failure_type, truncation_pattern, detection_confidence,
            created_at, created_by)
        SELECT gen_random_uuid(), (ARRAY[@runA, @runB])[1 + g % 2], 'p', 1,
               CASE WHEN g % 3 = 0 THEN 'claude-haiku-4-5' ELSE 'claude-sonnet-4-5' END, 4096, '{}'::jsonb, '{}',
               CASE WHEN g % 5 = 0 THEN NULL WHEN g % 5 = 1 THEN 'max_tokens' ELSE 'end_turn' END,
               CASE WHEN g % 11 = 0 THEN NULL ELSE (g * 97) % 6000 END, 200, false,
               CASE WHEN g % 4 = 0 THEN 'api_error' ELSE 'truncation' END,
               CASE WHEN g % 4 = 0 THEN NULL ELSE (ARRAY['lone_backslash','mid_word'])[1 + g % 2] END, 'high',
               timestamptz '2026-03-01 00:00:00+00' + (g % 72) * interval '1 hour' + random() * interval '59 minutes',
               (ARRAY[@userA, @userB])[1 + (g / 7) % 2]
        FROM generate_series(1, {{count}}) AS g
        """;

    [Fact]
    public async Task Rollup_equals_count_after_concurrent_inserts_updates_and_deletes()
    {
        await using var db = await env.CreateDatabaseAsync();
        var userA = (await db.CreateUserAsync()).Id;
        var userB = (await db.CreateUserAsync()).Id;
        var keys = new { userA, userB, runA = Guid.NewGuid(), runB = Guid.NewGuid() };
        var store = db.Get<FailedGenerationStore>();

        // Rows to update and delete exist before the race: otherwise the re-classifier can finish its rounds before
        // any bulk load commits, update nothing, and the check of its texts below fails for want of a race.
        await using (var seed = await db.DataSource.OpenConnectionAsync())
        {
            await seed.ExecuteAsync(BulkInsertSql(300), keys);
        }

        // Writers race on the same rollup keys: bulk loads, single inserts through the store, key-changing updates
        // (a re-classification) and updates of other columns on user B's rows, retention-style deletes of user A's
        // rows. Updates and deletes take disjoint rows, so only the rollup (not their own row locks) is contended.
        async Task Bulk()
        {
            for (var i = 0; i < 4; i++)
            {
                await using var c = await db.DataSource.OpenConnectionAsync();
                await c.ExecuteAsync(BulkInsertSql(150), keys);
            }
        }

        async Task Single()
        {
            for (var i = 0; i < 25; i++)
            {
                await store.StoreAsync(FailureSamples.Truncation(runId: keys.runA), i % 2 == 0 ? userA : userB, None);
            }
        }

        async Task Reclassify()
        {
            for (var i = 0; i < 10; i++)
            {
                await using var c = await db.DataSource.OpenConnectionAsync();
                await c.ExecuteAsync("""
                    UPDATE failed_generations SET failure_type = 'validation_error', truncation_pattern = NULL,
                        error_message = 'Reclassified ' || left(id::text, 8)
                    WHERE id IN (SELECT id FROM failed_generations WHERE created_by = @userB AND failure_type = 'truncation' LIMIT 20)
                    """, keys);
                await c.ExecuteAsync("UPDATE failed_generations SET report_attempts = report_attempts + 1 WHERE id IN (SELECT id FROM failed_generations WHERE created_by = @userB LIMIT 50)", keys);
                // A change of output tokens moves rows between histogram buckets (and into and out of "no count").
                await c.ExecuteAsync("""
                    UPDATE failed_generations
                    SET output_tokens = CASE WHEN output_tokens IS NULL THEN 123 WHEN output_tokens % 3 = 0 THEN NULL ELSE output_tokens + 75 END
                    WHERE id IN (SELECT id FROM failed_generations WHERE created_by = @userB ORDER BY id LIMIT 15)
                    """, keys);
            }
        }

        async Task Delete()
        {
            for (var i = 0; i < 10; i++)
            {
                await using var c = await db.DataSource.OpenConnectionAsync();
                await c.ExecuteAsync("DELETE FROM failed_generations WHERE id IN (SELECT id FROM failed_generations WHERE created_by = @userA ORDER BY created_at LIMIT 30)", keys);
            }
        }

        await Task.WhenAll(Task.Run(Bulk), Task.Run(Bulk), Task.Run(Single), Task.Run(Reclassify), Task.Run(Delete));

        await using var check = await db.DataSource.OpenConnectionAsync();
        Assert.True(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generations") > 0);
        Assert.Equal(0, await check.ExecuteScalarAsync<long>(MismatchSql));
        Assert.Equal(0, await check.ExecuteScalarAsync<long>(SearchMismatchSql));
        Assert.Equal(0, await check.ExecuteScalarAsync<long>(TokenMismatchSql));
        Assert.True(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_search WHERE errors LIKE 'reclassified %'") > 0);
    }

    [Fact]
    public async Task Rollup_is_emptied_by_truncate()
    {
        await using var db = await env.CreateDatabaseAsync();
        var keys = new { userA = (await db.CreateUserAsync()).Id, userB = (await db.CreateUserAsync()).Id, runA = Guid.NewGuid(), runB = Guid.NewGuid() };
        await using var c = await db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync(BulkInsertSql(40), keys);

        await c.ExecuteAsync("TRUNCATE failed_generations");

        Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_counts"));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_search"));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_token_counts"));
    }

    [Fact]
    public async Task Rollup_follows_a_user_deleted_with_cascade()
    {
        await using var db = await env.CreateDatabaseAsync();
        var keys = new { userA = (await db.CreateUserAsync()).Id, userB = (await db.CreateUserAsync()).Id, runA = Guid.NewGuid(), runB = Guid.NewGuid() };
        await using var c = await db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync(BulkInsertSql(60), keys);

        await c.ExecuteAsync("DELETE FROM app_users WHERE id = @userB", keys);

        Assert.Equal(0, await c.ExecuteScalarAsync<long>(MismatchSql));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>(SearchMismatchSql));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>(TokenMismatchSql));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_search WHERE created_by = @userB", keys));
    }

    [Fact]
    public async Task Member_writes_through_the_store_keep_the_rollup_under_row_level_security()
    {
        await using var db = await env.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var connections = db.Get<IUserScopedConnectionFactory>();

        // As brun_app for the member: the trigger writes the member's own rollup rows under the member's policies.
        await using (var asMember = await connections.OpenAsync(DbIdentity.User(member.Id), None))
        {
            await asMember.ExecuteAsync(BulkInsertSql(12), new { userA = member.Id, userB = member.Id, runA = Guid.NewGuid(), runB = Guid.NewGuid() });
        }

        await using var c = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(12, await c.ExecuteScalarAsync<long>("SELECT sum(n) FROM failed_generation_counts"));
        Assert.Equal(12, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generation_search"));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>(SearchMismatchSql));
        Assert.Equal(11, await c.ExecuteScalarAsync<long>("SELECT sum(n) FROM failed_generation_token_counts"));
        Assert.Equal(0, await c.ExecuteScalarAsync<long>(TokenMismatchSql));
    }

    [Fact]
    public async Task Facets_and_count_from_the_rollup_equal_a_scan_and_stay_within_the_member()
    {
        await using var db = await env.CreateDatabaseAsync();
        var userA = (await db.CreateUserAsync()).Id;
        var userB = (await db.CreateUserAsync()).Id;
        var keys = new { userA, userB, runA = Guid.NewGuid(), runB = Guid.NewGuid() };
        await using (var c = await db.DataSource.OpenConnectionAsync())
        {
            await c.ExecuteAsync(BulkInsertSql(300), keys);
        }

        var reader = db.Get<FailedGenerationReader>();
        var identity = DbIdentity.User(userA);
        var filter = new FailedGenerationFilter
        {
            FailureType = FailureType.Truncation,
            From = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero),
            To = new DateTimeOffset(2026, 3, 4, 0, 0, 0, TimeSpan.Zero),
        };
        Assert.True(FailedGenerationReader.CanUseRollup(filter));

        var facets = await reader.GetFacetsAsync(identity, filter, None);
        var count = await reader.CountAsync(identity, filter, None);

        await using var check = await db.DataSource.OpenConnectionAsync();
        var expected = await check.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM failed_generations
            WHERE created_by = @userA AND failure_type = 'truncation'
              AND created_at >= '2026-03-02 00:00:00+00' AND created_at < '2026-03-04 00:00:00+00'
            """, keys);
        var expectedEndTurn = await check.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM failed_generations
            WHERE created_by = @userA AND failure_type = 'truncation' AND stop_reason = 'end_turn'
              AND created_at >= '2026-03-02 00:00:00+00' AND created_at < '2026-03-04 00:00:00+00'
            """, keys);
        Assert.True(expected > 0);
        Assert.Equal(expected, count);
        Assert.Equal(expected, facets.Total);
        Assert.Equal(expectedEndTurn, facets.ByStopReason["end_turn"]);
        Assert.Equal(expected, facets.ByRun.Values.Sum());
    }

    [Fact]
    public async Task Counts_that_read_the_rows_put_each_chip_under_every_filter_but_its_own()
    {
        await using var db = await env.CreateDatabaseAsync();
        var userA = (await db.CreateUserAsync()).Id;
        var userB = (await db.CreateUserAsync()).Id;
        var keys = new { userA, userB, runA = Guid.NewGuid(), runB = Guid.NewGuid() };
        await using var check = await db.DataSource.OpenConnectionAsync();
        await check.ExecuteAsync(BulkInsertSql(400), keys);
        // Searchable text on some rows of every type, model and stop reason, both users' rows included.
        await check.ExecuteAsync("""
            UPDATE failed_generations SET truncation_details = 'Ends with a lone BACKSLASH'
            WHERE truncation_pattern = 'lone_backslash' AND random() < 0.8;
            UPDATE failed_generations SET error_message = 'upstream sent a backslash' WHERE failure_type = 'api_error' AND random() < 0.5;
            """);

        var reader = db.Get<FailedGenerationReader>();
        var filter = new FailedGenerationFilter
        {
            Query = "backslash",
            StopReason = "end_turn",
            Model = "claude-sonnet-4-5",
            From = new DateTimeOffset(2026, 3, 1, 5, 0, 0, TimeSpan.Zero),
        };
        Assert.False(FailedGenerationReader.CanUseRollup(filter));

        var chips = await reader.GetChipFacetsAsync(DbIdentity.User(userA), filter, None);
        var plain = await reader.GetFacetsAsync(DbIdentity.User(userA), filter, None);

        // The same counts, each dimension by its own query over the member's matching rows.
        const string Base = """
            created_by = @userA AND created_at >= '2026-03-01 05:00:00+00'
            AND (truncation_details ILIKE '%backslash%' OR error_message ILIKE '%backslash%')
            """;
        const string Stop = "stop_reason = 'end_turn'";
        const string Model = "model = 'claude-sonnet-4-5'";
        async Task<string> CountByAsync(string column, string where) => Show(
            await check.QueryAsync<(string Key, long N)>(
                $"SELECT COALESCE({column}::text, '(none)'), count(*) FROM failed_generations WHERE {Base} AND {where} GROUP BY 1", keys));
        static string Show(IEnumerable<(string Key, long N)> counts) => string.Join(",", counts.OrderBy(c => c.Key, StringComparer.Ordinal));
        static string ShowFacet<TKey>(IReadOnlyDictionary<TKey, long> counts) where TKey : notnull =>
            Show(counts.Select(c => (c.Key.ToString()!, c.Value)));

        var total = await check.ExecuteScalarAsync<long>($"SELECT count(*) FROM failed_generations WHERE {Base} AND {Stop} AND {Model}", keys);
        Assert.True(total > 0);
        Assert.Equal(
            (total, await CountByAsync("failure_type", $"{Stop} AND {Model}"), await CountByAsync("stop_reason", Model),
                await CountByAsync("model", Stop), await CountByAsync("run_id", $"{Stop} AND {Model}")),
            (chips.Total, ShowFacet(chips.ByFailureType), ShowFacet(chips.ByStopReason), ShowFacet(chips.ByModel), ShowFacet(chips.ByRun)));

        // Without the chips' rule every dimension is counted under all the filters.
        Assert.Equal(
            (total, await CountByAsync("stop_reason", $"{Stop} AND {Model}"), await CountByAsync("model", $"{Stop} AND {Model}")),
            (plain.Total, ShowFacet(plain.ByStopReason), ShowFacet(plain.ByModel)));
        Assert.True(chips.ByStopReason.Count > plain.ByStopReason.Count);

        // A term left to the rows (maintenance resolves no ids) is matched on the lowered copy: the same counts.
        var unresolved = await reader.GetChipFacetsAsync(DbIdentity.System, filter with { CreatedBy = userA }, None);
        Assert.Equal(
            (chips.Total, ShowFacet(chips.ByFailureType), ShowFacet(chips.ByStopReason), ShowFacet(chips.ByModel), ShowFacet(chips.ByRun)),
            (unresolved.Total, ShowFacet(unresolved.ByFailureType), ShowFacet(unresolved.ByStopReason), ShowFacet(unresolved.ByModel), ShowFacet(unresolved.ByRun)));
        Assert.Equal(total, await reader.CountAsync(DbIdentity.System, filter with { CreatedBy = userA }, None));
    }

    [Fact]
    public void A_text_search_or_a_bound_inside_a_day_is_not_answered_from_the_rollup()
    {
        Assert.False(FailedGenerationReader.CanUseRollup(new FailedGenerationFilter { Query = "backslash" }));
        Assert.False(FailedGenerationReader.CanUseRollup(new FailedGenerationFilter { From = new DateTimeOffset(2026, 3, 2, 13, 0, 0, TimeSpan.Zero) }));
    }
}
