using System.Security.Cryptography;
using System.Text;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Datasets;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Tests.Datasets;

[Collection(IntegrationEnvironment.Collection)]
public sealed class TrainingExporterTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<ImportSummary> ImportAsync(TestDatabase db, Guid owner, string name, TrainingFormat format, params string[] lines)
    {
        var session = await db.Get<DatasetImporter>().BeginAsync(owner, name, format, None);
        await session.AddJsonLinesAsync(name + ".jsonl", DatasetLines.Stream(lines), None);
        return await session.CompleteAsync(None);
    }

    /// <summary>A row stored before today's rules: it passed then, its last turn ends in a literal comma now caught.</summary>
    private static async Task<Guid> StoreStaleRowAsync(TestDatabase db, Guid owner, Guid datasetId)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<Guid>(
            """
            INSERT INTO conversations (model, turns, dataset_id, source, created_by)
            VALUES ('m', '[{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "First, list your debts,"}]', @datasetId, 'import', @owner)
            RETURNING id
            """,
            new { datasetId, owner });
    }

    [Fact]
    public async Task A_stored_conversation_that_fails_revalidation_never_appears_and_is_counted()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var import = await ImportAsync(db, user.Id, "d", TrainingFormat.OpenAi, DatasetLines.OpenAi("Good one."), DatasetLines.OpenAi("Another good one."));
        var stale = await StoreStaleRowAsync(db, user.Id, import.DatasetId);
        using var output = new MemoryStream();

        var manifest = await db.Get<TrainingExporter>().ExportAsync(user.Id, TrainingFormat.OpenAi, new TrainingExportFilter(DatasetId: import.DatasetId), output, None);

        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.DoesNotContain("list your debts", text, StringComparison.Ordinal);
        Assert.Equal((3L, 2L, 1L), (manifest.Considered, manifest.Written, manifest.LeftOutCount));
        Assert.Equal(stale, manifest.LeftOut.Single().Id);
        Assert.Equal("trailing_comma", manifest.LeftOut.Single().Pattern);
    }

    [Fact]
    public async Task The_manifest_sha256_and_byte_count_match_the_output()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var import = await ImportAsync(db, user.Id, "d", TrainingFormat.OpenAi, DatasetLines.OpenAi("Good one."), DatasetLines.OpenAi("Café ☕ is fine."));
        using var output = new MemoryStream();

        var manifest = await db.Get<TrainingExporter>().ExportAsync(user.Id, TrainingFormat.ShareGpt, new TrainingExportFilter(DatasetId: import.DatasetId), output, None);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(output.ToArray())), manifest.Sha256);
        Assert.Equal(output.Length, manifest.Bytes);
        Assert.Equal(ResponseValidatorVersion, manifest.ValidatorVersion);
    }

    private static string ResponseValidatorVersion => Core.Validation.ResponseValidator.Version;

    [Theory]
    [InlineData(TrainingFormat.OpenAi)]
    [InlineData(TrainingFormat.ShareGpt)]
    public async Task The_output_round_trips_through_the_importer(TrainingFormat format)
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await db.CreateUserAsync();
        var import = await ImportAsync(db, user.Id, "source", TrainingFormat.OpenAi,
            DatasetLines.OpenAi("Good one.", system: "Be calm."), DatasetLines.OpenAi("A \\\"quoted\\\" C:\\\\path\\\\ here."));
        using var output = new MemoryStream();
        await db.Get<TrainingExporter>().ExportAsync(user.Id, format, new TrainingExportFilter(DatasetId: import.DatasetId), output, None);
        output.Position = 0;

        var session = await db.Get<DatasetImporter>().BeginAsync(user.Id, "round-trip", format, None);
        await session.AddJsonLinesAsync("export.jsonl", output, None);
        var again = await session.CompleteAsync(None);

        Assert.Equal((2L, 2L, 0L, 0L), (again.Records, again.Imported, again.Rejected, again.BadLines));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        const string Rows = "SELECT turns::text || metadata::text AS row FROM conversations WHERE dataset_id = @DatasetId ORDER BY row";
        Assert.Equal(
            await connection.QueryAsync<string>(Rows, new { import.DatasetId }),
            await connection.QueryAsync<string>(Rows, new { again.DatasetId }));
    }

    [Fact]
    public async Task A_member_exports_only_their_own_conversations()
    {
        await using var db = await env.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        await ImportAsync(db, alice.Id, "alice", TrainingFormat.OpenAi, DatasetLines.OpenAi("Alice's data."));
        await ImportAsync(db, bob.Id, "bob", TrainingFormat.OpenAi, DatasetLines.OpenAi("Bob's data."));
        using var output = new MemoryStream();

        var manifest = await db.Get<TrainingExporter>().ExportAsync(bob.Id, TrainingFormat.OpenAi, new TrainingExportFilter(), output, None);

        Assert.Equal(1, manifest.Written);
        Assert.DoesNotContain("Alice", Encoding.UTF8.GetString(output.ToArray()), StringComparison.Ordinal);
    }
}
