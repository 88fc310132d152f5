using System.Text.Json;
using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Tests.Failures;

[Collection(IntegrationEnvironment.Collection)]
public sealed class FailedGenerationStoreTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Store_keeps_every_field_of_the_input()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var input = FailureSamples.Truncation(taskId: Guid.NewGuid(), runId: Guid.NewGuid());

        var stored = await db.Get<FailedGenerationStore>().StoreAsync(input, user.Id, None);
        var row = await db.Get<FailedGenerationReader>().GetAsync(DbIdentity.User(user.Id), stored.Id, None);

        Assert.NotNull(row);
        Assert.Equal(input, row.ToInput() with { RateLimitHeaders = input.RateLimitHeaders, ApiAttempts = input.ApiAttempts });
        Assert.Equal(input.RateLimitHeaders.OrderBy(h => h.Key), row.ToInput().RateLimitHeaders.OrderBy(h => h.Key));
        Assert.Equal(input.ApiAttempts, row.ToInput().ApiAttempts);
        Assert.Equal(user.Id, row.CreatedBy);
        Assert.Equal(db.Time.GetUtcNow().UtcDateTime, row.CreatedAt);
    }

    [Fact]
    public async Task Store_uploads_the_report_and_marks_the_row_uploaded()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();

        var stored = await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.Truncation(), user.Id, None);
        var row = await db.Get<FailedGenerationReader>().GetAsync(DbIdentity.User(user.Id), stored.Id, None);

        Assert.Equal(ReportStatus.Uploaded, stored.ReportStatus);
        Assert.Equal((ReportStatus.Uploaded, stored.RawFilePath, 1), (row!.ReportStatus, row.RawFilePath, row.ReportAttempts));
        Assert.Equal($"2026/03/failed-{stored.Id}-2026-03-01T12-00-00-000Z.json", stored.RawFilePath);
    }

    [Fact]
    public async Task Store_twice_for_the_same_task_keeps_one_row_and_returns_its_id()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var taskId = Guid.NewGuid();
        var store = db.Get<FailedGenerationStore>();
        var first = await store.StoreAsync(FailureSamples.Truncation(taskId), user.Id, None);

        var second = await store.StoreAsync(FailureSamples.MaxTokens() with { TaskId = taskId }, user.Id, None);

        Assert.Equal((first.Id, false), (second.Id, second.Created));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generations WHERE task_id = @taskId", new { taskId }));
    }

    [Fact]
    public async Task Store_for_a_task_owned_by_another_user_fails_instead_of_returning_their_row()
    {
        await using var db = await env.CreateDatabaseAsync();
        var taskId = Guid.NewGuid();
        var store = db.Get<FailedGenerationStore>();
        await store.StoreAsync(FailureSamples.Truncation(taskId), (await db.CreateUserAsync()).Id, None);
        var other = await db.CreateUserAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.StoreAsync(FailureSamples.Truncation(taskId), other.Id, None));
    }

    [Fact]
    public async Task Downloaded_report_equals_the_report_built_from_the_input()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var input = FailureSamples.Truncation();
        var stored = await db.Get<FailedGenerationStore>().StoreAsync(input, user.Id, None);

        var file = await db.Get<FailedGenerationReader>().DownloadReportAsync(DbIdentity.User(user.Id), stored.Id, None);

        Assert.True(file!.FromStorage);
        Assert.Equal(ErrorReportBuilder.BuildBytes(input, stored.Id, db.Time.GetUtcNow()), file.Content);
        Assert.Equal(Path.GetFileName(stored.RawFilePath), file.FileName);
    }

    [Fact]
    public async Task Downloaded_report_carries_the_plans_fields()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var stored = await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.Truncation(), user.Id, None);

        var file = await db.Get<FailedGenerationReader>().DownloadReportAsync(DbIdentity.User(user.Id), stored.Id, None);

        using var json = JsonDocument.Parse(file!.Content);
        var root = json.RootElement;
        var report = root.GetProperty("error_report");
        Assert.Equal("truncation", report.GetProperty("failure_type").GetString());
        Assert.Equal("end_turn", report.GetProperty("stop_reason").GetString());
        Assert.Equal("lone_backslash", report.GetProperty("truncation_pattern").GetString());
        Assert.Equal("2026-03-01T12:00:00.000Z", report.GetProperty("timestamp").GetString());
        Assert.Equal(24576 - 1003, report.GetProperty("analysis").GetProperty("tokens_remaining").GetInt32());
        Assert.Equal(0m, root.GetProperty("request_context").GetProperty("temperature").GetDecimal());
        Assert.Equal("msg_01", root.GetProperty("raw_response").GetProperty("id").GetString());
        Assert.Equal("req_011", root.GetProperty("diagnostics").GetProperty("request_id").GetString());
        Assert.Equal(stored.Id, root.GetProperty("diagnostics").GetProperty("failure_id").GetGuid());
    }

    [Fact]
    public async Task A_non_json_body_is_kept_byte_exact_and_wrapped_as_text_in_raw_response()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var input = FailureSamples.ProxyError();

        var stored = await db.Get<FailedGenerationStore>().StoreAsync(input, user.Id, None);

        await using var connection = await db.DataSource.OpenConnectionAsync();
        var (rawBody, format, body) = await connection.QuerySingleAsync<(string, string, string)>(
            "SELECT raw_body, raw_response->>'format', raw_response->>'body' FROM failed_generations WHERE id = @id", new { id = stored.Id });
        Assert.Equal((input.RawBody, "text", input.RawBody), (rawBody, format, body));
    }

    [Fact]
    public async Task An_sse_transcript_is_wrapped_as_sse_in_raw_response()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var input = FailureSamples.CutStream();

        var stored = await db.Get<FailedGenerationStore>().StoreAsync(input, user.Id, None);

        await using var connection = await db.DataSource.OpenConnectionAsync();
        var (rawBody, format) = await connection.QuerySingleAsync<(string, string)>(
            "SELECT raw_body, raw_response->>'format' FROM failed_generations WHERE id = @id", new { id = stored.Id });
        Assert.Equal((input.RawBody, "sse"), (rawBody, format));
    }

    [Fact]
    public async Task Deleting_a_user_deletes_their_failures()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        await db.Get<FailedGenerationStore>().StoreAsync(FailureSamples.Truncation(), user.Id, None);

        await using var connection = await db.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("DELETE FROM app_users WHERE id = @id", new { id = user.Id });

        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM failed_generations"));
    }
}
