using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Datasets;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Tests.Datasets;

[Collection(IntegrationEnvironment.Collection)]
public sealed class DatasetImporterTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Import_openai_lines_stores_good_ones_quarantines_cut_ones_and_counts_bad_lines_with_their_numbers()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var session = await db.Get<DatasetImporter>().BeginAsync(user.Id, "budget-chats", TrainingFormat.OpenAi, None);

        await session.AddJsonLinesAsync("chats.jsonl", DatasetLines.Stream(
            DatasetLines.OpenAi("Let's start with one small step.", system: "You are a calm planner."),
            "{\"messages\": [",
            DatasetLines.OpenAi("You mentioned feeling overwhelmed, so let's togeth"),
            "",
            DatasetLines.ShareGpt("Right format, wrong file."),
            DatasetLines.OpenAi("That is a good plan.")), None);
        var summary = await session.CompleteAsync(None);

        Assert.Equal((5L, 2L, 1L, 2L), (summary.Records, summary.Imported, summary.Rejected, summary.BadLines));
        Assert.Equal([2L, 5L], summary.FirstErrors.Select(e => e.Line));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations WHERE dataset_id = @DatasetId AND source = 'import'", new { summary.DatasetId }));
        Assert.Equal("mid_word", await connection.ExecuteScalarAsync<string>("SELECT truncation_pattern FROM failed_generations WHERE source = 'import' AND dataset_id = @DatasetId", new { summary.DatasetId }));
        Assert.Equal([2L, 5L], await connection.QueryAsync<long>("SELECT line FROM dataset_import_errors WHERE import_id = @ImportId ORDER BY line", new { summary.ImportId }));
        Assert.Equal((5L, 2L, 1L, 2L, "completed"), await connection.QuerySingleAsync<(long, long, long, long, string)>(
            "SELECT records, imported, rejected, bad_lines, status FROM dataset_imports WHERE id = @ImportId", new { summary.ImportId }));
    }

    [Fact]
    public async Task Import_of_lines_holding_NUL_characters_stores_or_counts_each_line()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var session = await db.Get<DatasetImporter>().BeginAsync(user.Id, "nul", TrainingFormat.OpenAi, None);

        await session.AddJsonLinesAsync("nul.jsonl", DatasetLines.Stream(
            DatasetLines.OpenAi("Fine.", user: "Hi.\\u0000"),
            DatasetLines.OpenAi("Fine.", system: "Be kind.\\u0000"),
            DatasetLines.OpenAi("You mentioned feeling overwhelmed\\u0000, so let's togeth"),
            "{\"messages\": [\0\0"), None);
        var summary = await session.CompleteAsync(None);

        Assert.Equal((4L, 2L, 1L, 1L), (summary.Records, summary.Imported, summary.Rejected, summary.BadLines));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        // The turns (json) keep the escape; the metadata (jsonb, which refuses it) holds U+FFFD in its place.
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations WHERE strpos(turns::text, 'Hi.\\u0000') > 0"));
        Assert.Equal("Be kind.\uFFFD", await connection.ExecuteScalarAsync<string>("SELECT metadata ->> 'system' FROM conversations WHERE metadata ? 'system'"));
    }

    [Fact]
    public async Task Import_keeps_the_system_prompt_and_turns_of_a_good_line()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var session = await db.Get<DatasetImporter>().BeginAsync(user.Id, "one", TrainingFormat.Auto, None);

        await session.AddJsonLinesAsync("one.jsonl", DatasetLines.Stream(DatasetLines.OpenAi("Fine.", user: "Hi.", system: "Be kind.")), None);
        await session.CompleteAsync(None);

        await using var connection = await db.DataSource.OpenConnectionAsync();
        var (turns, metadata) = await connection.QuerySingleAsync<(string, string)>("SELECT turns::text, metadata::text FROM conversations");
        Assert.Equal("[{\"role\":\"user\",\"content\":\"Hi.\"},{\"role\":\"assistant\",\"content\":\"Fine.\"}]", turns);
        Assert.Equal("{\"system\": \"Be kind.\"}", metadata);
    }

    [Fact]
    public async Task Import_sharegpt_lines()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var session = await db.Get<DatasetImporter>().BeginAsync(user.Id, "sharegpt", TrainingFormat.ShareGpt, None);

        await session.AddJsonLinesAsync("s.jsonl", DatasetLines.Stream(
            DatasetLines.ShareGpt("Start by listing what you owe."),
            DatasetLines.ShareGpt("List the debts by rate, then by balan"),
            DatasetLines.OpenAi("Wrong format for this import.")), None);
        var summary = await session.CompleteAsync(None);

        Assert.Equal((3L, 1L, 1L, 1L), (summary.Records, summary.Imported, summary.Rejected, summary.BadLines));
        Assert.Contains("\"conversations\"", summary.FirstErrors.Single().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_saved_messages_api_bodies_and_sse_transcripts()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var session = await db.Get<DatasetImporter>().BeginAsync(user.Id, "saved", TrainingFormat.MessagesApi, None);
        var fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");

        await session.AddSavedResponseAsync("complete.json", await File.ReadAllTextAsync(Path.Combine(fixtures, "complete-000.json")), None);
        await session.AddSavedResponseAsync("complete.sse", await File.ReadAllTextAsync(Path.Combine(fixtures, "stream-complete-00.sse")), None);
        await session.AddSavedResponseAsync("cut.json", await File.ReadAllTextAsync(Path.Combine(fixtures, "endturn-cut-lone_backslash-000.json")), None);
        var summary = await session.CompleteAsync(None);

        Assert.Equal((3L, 2L, 1L, 0L), (summary.Records, summary.Imported, summary.Rejected, summary.BadLines));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal("lone_backslash", await connection.ExecuteScalarAsync<string>("SELECT truncation_pattern FROM failed_generations WHERE source = 'import'"));
    }

    [Fact]
    public async Task Import_of_a_large_generated_stream_counts_every_line()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var session = await db.Get<DatasetImporter>().BeginAsync(user.Id, "large", TrainingFormat.OpenAi, None);
        const int Lines = 6_000;

        await session.AddJsonLinesAsync("generated.jsonl", new DatasetLines.Generated(Lines, cutEvery: 1_000, badEvery: 997), None);
        var summary = await session.CompleteAsync(None);

        Assert.Equal(Lines, summary.Records);
        Assert.Equal((6L, 6L), (summary.Rejected, summary.BadLines));
        Assert.Equal(Lines - 12, summary.Imported);
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(Lines - 12, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations"));
    }

    [Fact]
    public async Task A_member_sees_only_their_own_imported_datasets()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var importer = db.Get<DatasetImporter>();
        var session = await importer.BeginAsync(alice.Id, "alice-data", TrainingFormat.OpenAi, None);
        await session.AddJsonLinesAsync("a.jsonl", DatasetLines.Stream(DatasetLines.OpenAi("Fine.")), None);
        await session.CompleteAsync(None);

        await using var connection = await db.Get<IUserScopedConnectionFactory>().OpenAsync(DbIdentity.User(bob.Id), None);

        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM datasets"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM conversations"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM dataset_imports"));
    }
}
