using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Blobs;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.Infrastructure.Tests.Failures;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Tests.Retention;

/// <summary>
/// Retention (migration 0075, docs/retention.md) against real Postgres and Azurite: blobs and rows of old failed
/// generations go, everything else stays, and a run stopped halfway is finished by the next one.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RetentionServiceTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static RetentionService Retention(TestDatabase db, IFailureReportBlobStore? blobs = null, int batchSize = 200) => new(
        db.Get<IUserScopedConnectionFactory>(),
        blobs ?? db.Get<IFailureReportBlobStore>(),
        Options.Create(new RetentionOptions { BatchSize = batchSize, BlobParallelism = 1 }),
        Options.Create(new ReportUploadOptions()),
        db.Time,
        NullLogger<RetentionService>.Instance);

    private static RetentionRequest Request(bool dryRun = false) => new(30, dryRun, "test");

    /// <summary>Old failures (40 days before the run), recent ones (now), a conversation and an old quarantined row.</summary>
    private static async Task<Seed> SeedAsync(TestDatabase db, int old = 5, int recent = 2)
    {
        var user = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        var oldRows = new List<StoredFailedGeneration>();
        for (var i = 0; i < old; i++)
        {
            oldRows.Add(await store.StoreAsync(FailureSamples.Truncation(), user.Id, None));
        }

        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO conversations (model, turns, created_by, created_at)
                VALUES ('claude-sonnet-4-5', '[]'::jsonb, @user, @at);
                INSERT INTO failed_generations (id, prompt, prompt_length, model, max_tokens, raw_response, raw_body, http_status,
                    streamed, failure_type, detection_confidence, created_at, created_by, source, quarantined_row, report_status)
                VALUES (gen_random_uuid(), 'p', 1, 'claude-sonnet-4-5', 4096, '{}'::jsonb, '{}', 200, false, 'truncation', 'high',
                    @at, @user, 'scan', '{}'::jsonb, 'uploaded');
                """,
                new { user = user.Id, at = db.Time.GetUtcNow().UtcDateTime });
        }

        db.Time.Advance(TimeSpan.FromDays(40));
        var recentRows = new List<StoredFailedGeneration>();
        for (var i = 0; i < recent; i++)
        {
            recentRows.Add(await store.StoreAsync(FailureSamples.Truncation(), user.Id, None));
        }

        Assert.All(oldRows.Concat(recentRows), r => Assert.Equal(ReportStatus.Uploaded, r.ReportStatus));
        return new Seed(oldRows, recentRows, user.Id);
    }

    private static async Task<long> ScalarAsync(TestDatabase db, string sql)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(sql);
    }

    private static async Task<int> BlobsPresentAsync(TestDatabase db, IEnumerable<StoredFailedGeneration> rows)
    {
        var blobs = db.Get<IFailureReportBlobStore>();
        var present = 0;
        foreach (var row in rows)
        {
            present += await blobs.DownloadAsync(row.RawFilePath!, None) is null ? 0 : 1;
        }

        return present;
    }

    [Fact]
    public async Task Old_failures_and_their_blobs_are_deleted()
    {
        await using var db = await env.CreateDatabaseAsync();
        var seed = await SeedAsync(db);

        var run = await Retention(db).RunAsync(Request(), None);

        Assert.Equal((RetentionStatus.Completed, 5L, 5L, 0L), (run.Status, run.FailuresDeleted, run.BlobsDeleted, run.BlobsMissing));
        Assert.Equal(0, await BlobsPresentAsync(db, seed.Old));
        Assert.Equal(0, await ScalarAsync(db, "SELECT count(*) FROM failed_generations WHERE source <> 'scan' AND created_at < '2026-03-02'"));
    }

    [Fact]
    public async Task Recent_failures_and_their_blobs_are_kept()
    {
        await using var db = await env.CreateDatabaseAsync();
        var seed = await SeedAsync(db);

        await Retention(db).RunAsync(Request(), None);

        Assert.Equal(2, await BlobsPresentAsync(db, seed.Recent));
        Assert.Equal(2, await ScalarAsync(db, "SELECT count(*) FROM failed_generations WHERE source <> 'scan'"));
    }

    [Fact]
    public async Task Conversations_and_quarantined_rows_are_never_touched()
    {
        await using var db = await env.CreateDatabaseAsync();
        await SeedAsync(db);

        var run = await Retention(db).RunAsync(Request(), None);

        Assert.Equal(1, await ScalarAsync(db, "SELECT count(*) FROM conversations"));
        Assert.Equal(1, await ScalarAsync(db, "SELECT count(*) FROM failed_generations WHERE source = 'scan'"));
        Assert.Equal(1, run.KeptQuarantined);
    }

    [Fact]
    public async Task The_rollup_still_equals_count_after_retention()
    {
        await using var db = await env.CreateDatabaseAsync();
        await SeedAsync(db);

        await Retention(db).RunAsync(Request(), None);

        Assert.Equal(0, await ScalarAsync(db, FailureCountsRollupTests.MismatchSql));
        Assert.Equal(
            await ScalarAsync(db, "SELECT count(*) FROM failed_generations"),
            await ScalarAsync(db, "SELECT coalesce(sum(n), 0) FROM failed_generation_counts"));
    }

    [Fact]
    public async Task A_dry_run_deletes_nothing_and_reports_what_would_go()
    {
        await using var db = await env.CreateDatabaseAsync();
        var seed = await SeedAsync(db);

        var run = await Retention(db).RunAsync(Request(dryRun: true), None);

        Assert.Equal((true, 5L, 5L), (run.DryRun, run.FailuresDeleted, run.BlobsDeleted));
        Assert.Equal(5, await BlobsPresentAsync(db, seed.Old));
        Assert.Equal(8, await ScalarAsync(db, "SELECT count(*) FROM failed_generations"));
    }

    [Fact]
    public async Task A_run_that_fails_between_blob_and_row_deletes_is_finished_by_the_next_run()
    {
        await using var db = await env.CreateDatabaseAsync();
        var seed = await SeedAsync(db);
        // Batches of two: the first commits; the second deletes one blob, then storage fails before its rows go.
        var faulty = new FaultingBlobStore(db.Get<IFailureReportBlobStore>(), failOnDelete: 4);

        var failure = await Assert.ThrowsAsync<RetentionFailedException>(() => Retention(db, faulty, batchSize: 2).RunAsync(Request(), None));
        Assert.Equal((RetentionStatus.Failed, 2L), (failure.Run.Status, failure.Run.FailuresDeleted));
        Assert.Equal(3, await ScalarAsync(db, "SELECT count(*) FROM failed_generations WHERE source <> 'scan' AND created_at < '2026-03-02'"));

        var rerun = await Retention(db, batchSize: 2).RunAsync(Request(), None);

        Assert.Equal((3L, 2L, 1L), (rerun.FailuresDeleted, rerun.BlobsDeleted, rerun.BlobsMissing));
        Assert.Equal(0, await BlobsPresentAsync(db, seed.Old));
        Assert.Equal(0, await ScalarAsync(db, "SELECT count(*) FROM failed_generations WHERE source <> 'scan' AND created_at < '2026-03-02'"));
        Assert.Equal(0, await ScalarAsync(db, FailureCountsRollupTests.MismatchSql));
    }

    [Fact]
    public async Task A_run_cancelled_after_its_first_batch_is_logged_as_cancelled_and_the_rerun_deletes_the_rest()
    {
        await using var db = await env.CreateDatabaseAsync();
        var seed = await SeedAsync(db);
        using var cancellation = new CancellationTokenSource();
        // The third delete is the first of the second batch: cancel there, as a stopping host would.
        var cancelling = new FaultingBlobStore(db.Get<IFailureReportBlobStore>(), failOnDelete: 3, onFault: cancellation.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Retention(db, cancelling, batchSize: 2).RunAsync(Request(), cancellation.Token));
        var logged = Assert.Single(await Retention(db).ListAsync(DbIdentity.System, 10, None));
        Assert.Equal((RetentionStatus.Cancelled, 2L, 1), (logged.Status, logged.FailuresDeleted, logged.Batches));

        await Retention(db).RunAsync(Request(), None);

        Assert.Equal(0, await BlobsPresentAsync(db, seed.Old));
        Assert.Equal(0, await ScalarAsync(db, "SELECT count(*) FROM failed_generations WHERE source <> 'scan' AND created_at < '2026-03-02'"));
    }

    [Fact]
    public async Task A_row_whose_blob_is_already_gone_is_still_deleted()
    {
        await using var db = await env.CreateDatabaseAsync();
        var seed = await SeedAsync(db, old: 1, recent: 0);
        await db.Get<IFailureReportBlobStore>().DeleteAsync(seed.Old[0].RawFilePath!, None);

        var run = await Retention(db).RunAsync(Request(), None);

        Assert.Equal((1L, 0L, 1L), (run.FailuresDeleted, run.BlobsDeleted, run.BlobsMissing));
        Assert.Equal(0, await ScalarAsync(db, "SELECT count(*) FROM failed_generations WHERE source <> 'scan'"));
    }

    [Fact]
    public async Task A_report_the_retrier_still_owns_is_kept_until_a_later_run()
    {
        await using var db = await env.CreateDatabaseAsync();
        await SeedAsync(db, old: 1, recent: 0);
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            // As if an upload retrier had just claimed it: its lease runs into the future.
            await connection.ExecuteAsync(
                "UPDATE failed_generations SET report_status = 'failed', report_next_attempt_at = @lease WHERE source <> 'scan'",
                new { lease = db.Time.GetUtcNow().AddMinutes(5).UtcDateTime });
        }

        var run = await Retention(db).RunAsync(Request(), None);

        Assert.Equal((0L, 1L), (run.FailuresDeleted, run.KeptRetrying));
    }

    [Fact]
    public async Task Old_calls_of_finished_tasks_lose_their_raw_body_and_keep_their_row()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var runId = await new RunStore(db.Get<IUserScopedConnectionFactory>(), db.Time)
            .CreateAsync(user.Id, new CreateRunRequest(2, "default", "claude-sonnet-4-5", 4096, 0.7m), None);
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            // One finished task and one still running, both called 40 days ago.
            await connection.ExecuteAsync(
                """
                WITH t AS (SELECT id, row_number() OVER (ORDER BY seq) AS n FROM generation_tasks WHERE run_id = @runId)
                UPDATE generation_tasks g SET state = CASE WHEN t.n = 1 THEN 'succeeded' ELSE 'running' END FROM t WHERE g.id = t.id;
                INSERT INTO generation_calls (task_id, run_id, attempt, created_at, disposition, http_status, streamed, raw_body,
                    model, max_tokens, structured_outputs_enabled, stream)
                SELECT id, run_id, 1, @at, 'response', 200, false, '{"raw":"body"}', 'claude-sonnet-4-5', 4096, true, false
                FROM generation_tasks WHERE run_id = @runId;
                """,
                new { runId, at = db.Time.GetUtcNow().UtcDateTime });
        }

        db.Time.Advance(TimeSpan.FromDays(40));
        var run = await Retention(db).RunAsync(Request(), None);

        Assert.Equal(1, run.CallsPruned);
        Assert.Equal(1, await ScalarAsync(db, "SELECT count(*) FROM generation_calls WHERE raw_body = '' AND raw_body_pruned_at IS NOT NULL"));
        Assert.Equal(2, await ScalarAsync(db, "SELECT count(*) FROM generation_calls"));
    }

    [Fact]
    public async Task A_member_cannot_read_the_retention_log_and_an_admin_can()
    {
        await using var db = await env.CreateDatabaseAsync();
        await Retention(db).RunAsync(Request(dryRun: true), None);
        var member = await db.CreateUserAsync();
        var admin = await db.CreateUserAsync(Users.AppUserRoles.Admin);

        Assert.Empty(await Retention(db).ListAsync(DbIdentity.User(member.Id), 10, None));
        Assert.Single(await Retention(db).ListAsync(DbIdentity.User(admin.Id), 10, None));
    }

    [Fact]
    public async Task A_page_of_the_log_counts_only_what_the_reader_may_see()
    {
        await using var db = await env.CreateDatabaseAsync();
        var first = await Retention(db).RunAsync(Request(dryRun: true), None);
        db.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await Retention(db).RunAsync(Request(dryRun: true), None);
        var member = await db.CreateUserAsync();
        var admin = await db.CreateUserAsync(Users.AppUserRoles.Admin);

        var memberPage = await Retention(db).PageAsync(DbIdentity.User(member.Id), new Infrastructure.Failures.PageRequest(0, 1), None);
        var adminPage1 = await Retention(db).PageAsync(DbIdentity.User(admin.Id), new Infrastructure.Failures.PageRequest(0, 1), None);
        var adminPage2 = await Retention(db).PageAsync(DbIdentity.User(admin.Id), new Infrastructure.Failures.PageRequest(1, 1), None);

        Assert.Equal((0L, 0), (memberPage.TotalCount, memberPage.Items.Count));
        Assert.Equal((2L, second.Id, first.Id), (adminPage1.TotalCount, Assert.Single(adminPage1.Items).Id, Assert.Single(adminPage2.Items).Id));
    }

    [Fact]
    public async Task The_rollup_stays_exact_when_retention_runs_beside_new_failures()
    {
        await using var db = await env.CreateDatabaseAsync();
        var seed = await SeedAsync(db, old: 60, recent: 0);
        var store = db.Get<FailedGenerationStore>();

        // New failures land (with their rollup keys) while retention deletes old ones in small batches.
        async Task InsertAsync()
        {
            for (var i = 0; i < 30; i++)
            {
                await store.StoreAsync(FailureSamples.Truncation(), seed.Owner, None);
            }
        }

        await Task.WhenAll(InsertAsync(), Retention(db, batchSize: 5).RunAsync(Request(), None));

        Assert.Equal(0, await ScalarAsync(db, FailureCountsRollupTests.MismatchSql));
        Assert.Equal(31, await ScalarAsync(db, "SELECT count(*) FROM failed_generations"));
    }

    [Fact]
    public async Task The_hosted_service_runs_retention_at_start()
    {
        await using var db = await env.CreateDatabaseAsync();
        await SeedAsync(db, old: 2, recent: 0);
        var options = Options.Create(new RetentionOptions { OlderThanDays = 30 });
        using var service = new RetentionHostedService(Retention(db), options, db.Time, NullLogger<RetentionHostedService>.Instance);

        await service.StartAsync(None);
        try
        {
            // A bound for the first pass to finish on a busy machine; it asserts no speed.
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (await ScalarAsync(db, "SELECT count(*) FROM retention_runs WHERE status <> 'running'") == 0)
            {
                await Task.Delay(50, bound.Token);
            }
        }
        finally
        {
            await service.StopAsync(None);
        }

        var run = Assert.Single(await Retention(db).ListAsync(DbIdentity.System, 10, None));
        Assert.Equal((RetentionHostedService.TriggeredBy, 2L), (run.TriggeredBy, run.FailuresDeleted));
    }

    private sealed record Seed(List<StoredFailedGeneration> Old, List<StoredFailedGeneration> Recent, Guid Owner);

    /// <summary>Real blob storage that fails (or runs <c>onFault</c> and goes on) at the Nth delete: a crash between blob and row.</summary>
    private sealed class FaultingBlobStore(IFailureReportBlobStore inner, int failOnDelete, Action? onFault = null) : IFailureReportBlobStore
    {
        private int _deletes;

        public Task UploadAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.UploadAsync(path, content, cancellationToken);

        public Task<byte[]?> DownloadAsync(string path, CancellationToken cancellationToken) => inner.DownloadAsync(path, cancellationToken);

        public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

        public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _deletes) == failOnDelete)
            {
                if (onFault is null)
                {
                    throw new ReportStorageException("injected fault", new InvalidOperationException("storage went away"));
                }

                onFault();
                cancellationToken.ThrowIfCancellationRequested();
            }

            return inner.DeleteAsync(path, cancellationToken);
        }
    }
}
