using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Tests.Failures;

[Collection(IntegrationEnvironment.Collection)]
public sealed class ReportUploadRetrierTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>Stores one failure while blob storage is down, then brings storage back.</summary>
    private async Task<(StoredFailedGeneration Stored, Guid UserId)> StoreDuringOutageAsync(TestDatabase db, Core.Failures.FailedGenerationInput input)
    {
        var user = await db.CreateUserAsync();
        await env.Azurite.StopAsync();
        try
        {
            return (await db.Get<FailedGenerationStore>().StoreAsync(input, user.Id, None), user.Id);
        }
        finally
        {
            await env.Azurite.StartAsync();
        }
    }

    [Fact]
    public async Task A_row_the_retrier_cannot_read_is_parked_and_logged_and_the_others_are_still_uploaded()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var store = db.Get<FailedGenerationStore>();
        var bad = await store.StoreAsync(FailureSamples.Truncation(), user.Id, None);
        var good = await store.StoreAsync(FailureSamples.Truncation(), user.Id, None);
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            // Both due again; one has rate-limit headers no build of ours writes (an array), so its report cannot be rebuilt.
            await connection.ExecuteAsync(
                """
                UPDATE failed_generations SET report_status = 'pending', report_next_attempt_at = '2000-01-01', raw_file_path = NULL;
                UPDATE failed_generations SET rate_limit_headers = '[1, 2]' WHERE id = @bad;
                """,
                new { bad = bad.Id });
        }

        var first = await db.Get<ReportUploadRetrier>().RetryPendingAsync(10, None);
        var second = await db.Get<ReportUploadRetrier>().RetryPendingAsync(10, None);

        Assert.Equal((2, 1, 1), (first.Claimed, first.Uploaded, first.Unreadable));
        Assert.Equal(0, second.Claimed);
        var reader = db.Get<FailedGenerationReader>();
        var parked = await reader.GetAsync(DbIdentity.System, bad.Id, None);
        Assert.Equal(ReportStatus.Unreadable, parked!.ReportStatus);
        Assert.Contains("JsonException", parked.ReportLastError, StringComparison.Ordinal);
        Assert.Equal(ReportStatus.Uploaded, (await reader.GetAsync(DbIdentity.System, good.Id, None))!.ReportStatus);
    }

    [Fact]
    public async Task Store_during_a_blob_outage_keeps_the_row_with_a_failed_report()
    {
        await using var db = await env.CreateDatabaseAsync();

        var (stored, userId) = await StoreDuringOutageAsync(db, FailureSamples.Truncation());

        var row = await db.Get<FailedGenerationReader>().GetAsync(DbIdentity.User(userId), stored.Id, None);
        Assert.Equal(ReportStatus.Failed, stored.ReportStatus);
        Assert.Equal((ReportStatus.Failed, 1, (string?)null), (row!.ReportStatus, row.ReportAttempts, row.RawFilePath));
        Assert.NotNull(row.ReportLastError);
    }

    [Fact]
    public async Task A_report_not_uploaded_yet_can_still_be_downloaded()
    {
        await using var db = await env.CreateDatabaseAsync();
        var input = FailureSamples.Truncation();
        var (stored, userId) = await StoreDuringOutageAsync(db, input);

        var file = await db.Get<FailedGenerationReader>().DownloadReportAsync(DbIdentity.User(userId), stored.Id, None);

        Assert.False(file!.FromStorage);
        Assert.Equal(ErrorReportBuilder.BuildBytes(input, stored.Id, db.Time.GetUtcNow()), file.Content);
    }

    [Fact]
    public async Task Retry_waits_for_the_backoff()
    {
        await using var db = await env.CreateDatabaseAsync();
        await StoreDuringOutageAsync(db, FailureSamples.Truncation());

        var result = await db.Get<ReportUploadRetrier>().RetryPendingAsync(10, None);

        Assert.Equal(0, result.Claimed);
    }

    [Fact]
    public async Task Retry_after_the_outage_uploads_the_report_built_at_store_time()
    {
        await using var db = await env.CreateDatabaseAsync();
        var input = FailureSamples.CutStream();
        var storedAt = db.Time.GetUtcNow();
        var (stored, userId) = await StoreDuringOutageAsync(db, input);
        db.Time.Advance(TimeSpan.FromMinutes(1));

        var result = await db.Get<ReportUploadRetrier>().RetryPendingAsync(10, None);

        Assert.Equal(new ReportRetryResult(1, 1, 0), result);
        var file = await db.Get<FailedGenerationReader>().DownloadReportAsync(DbIdentity.User(userId), stored.Id, None);
        Assert.True(file!.FromStorage);
        Assert.Equal(ErrorReportBuilder.BuildBytes(input, stored.Id, storedAt), file.Content);
    }

    [Fact]
    public async Task A_row_whose_inline_upload_never_ran_is_uploaded_after_the_grace_period()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var stored = await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.ProxyError(), user.Id, None);
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            // As if the process died between the insert and the upload.
            await Dapper.SqlMapper.ExecuteAsync(connection,
                "UPDATE failed_generations SET report_status = 'pending', report_attempts = 0, raw_file_path = NULL, report_next_attempt_at = created_at + interval '2 minutes' WHERE id = @id",
                new { id = stored.Id });
        }

        var early = await db.Get<ReportUploadRetrier>().RetryPendingAsync(10, None);
        db.Time.Advance(TimeSpan.FromMinutes(2));
        var due = await db.Get<ReportUploadRetrier>().RetryPendingAsync(10, None);

        Assert.Equal((0, 1), (early.Claimed, due.Uploaded));
    }

    [Fact]
    public async Task Retry_gives_up_after_the_maximum_attempts()
    {
        await using var db = await env.CreateDatabaseAsync();
        var services = db.BuildServices(s => s["ReportUpload:MaxAttempts"] = "2");
        var user = await db.CreateUserAsync();
        await env.Azurite.StopAsync();
        try
        {
            var stored = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
                .GetRequiredService<FailedGenerationStore>(services).StoreAsync(FailureSamples.Truncation(), user.Id, None);
            var retrier = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<ReportUploadRetrier>(services);
            db.Time.Advance(TimeSpan.FromHours(2));
            var second = await retrier.RetryPendingAsync(10, None);
            db.Time.Advance(TimeSpan.FromHours(2));

            var third = await retrier.RetryPendingAsync(10, None);

            Assert.Equal((1, 0), (second.Claimed, third.Claimed));
            var row = await db.Get<FailedGenerationReader>().GetAsync(DbIdentity.System, stored.Id, None);
            Assert.Equal((ReportStatus.Failed, 2), (row!.ReportStatus, row.ReportAttempts));
        }
        finally
        {
            await env.Azurite.StartAsync();
        }
    }
}
