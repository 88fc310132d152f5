using System.Security.Cryptography;
using System.Text.Json;
using BRun.Diagnostics.Cli.Tests.Pipeline;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Cli.Tests.Datasets;

[Collection(IntegrationEnvironment.Collection)]
public sealed class DatasetCommandsTests(IntegrationEnvironment environment) : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private string _email = null!;
    private Guid _userId;
    private readonly string _directory = Directory.CreateTempSubdirectory("brun-datasets-").FullName;

    public async Task InitializeAsync()
    {
        _db = await environment.CreateDatabaseAsync();
        var user = await _db.CreateUserAsync();
        (_email, _userId) = (user.Email, user.Id);
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private static string Line(string assistant) =>
        $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"Help me budget.\"}}, {{\"role\": \"assistant\", \"content\": \"{assistant}\"}}]}}";

    [Fact]
    public async Task Import_then_scan_then_export_keeps_cut_data_out_at_every_step()
    {
        var input = Path.Combine(_directory, "chats.jsonl");
        await File.WriteAllLinesAsync(input, [Line("Start with one small step."), "not json", Line("Let's list what you owe togeth"), Line("That works.")]);

        var import = await BrunAsync("import", input, "--label", "chats", "--user", _email);
        await StoreStaleRowAsync();
        var scan = await BrunAsync("scan", "--dataset", "chats", "--user", _email);
        var output = Path.Combine(_directory, "train.jsonl");
        var export = await BrunAsync("export", "--format", "openai", "--dataset", "chats", "--user", _email, output);

        Assert.True(import.ExitCode == 0, import.StandardError);
        Assert.Contains("4 records, 2 imported, 1 rejected", import.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("bad line " + input + ":2: not valid JSON", import.StandardOutput, StringComparison.Ordinal);
        Assert.True(scan.ExitCode == 0, scan.StandardError);
        Assert.Contains("3 scanned, 1 failed validation, 1 quarantined", scan.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("ETA", scan.StandardError, StringComparison.Ordinal);
        Assert.True(export.ExitCode == 0, export.StandardError);
        Assert.Equal(2, (await File.ReadAllLinesAsync(output)).Length);
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_directory, "train.manifest.json")));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(output))), manifest.RootElement.GetProperty("sha256").GetString());
        Assert.Equal(2, manifest.RootElement.GetProperty("written").GetInt64());
    }

    /// <summary>A row stored before the import existed, that today's validator rejects (it ends on a comma).</summary>
    private async Task StoreStaleRowAsync()
    {
        await using var connection = await _db.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            """
            INSERT INTO conversations (model, turns, dataset_id, source, created_by)
            SELECT 'm', '[{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "First, list your debts,"}]', id, 'import', @userId
            FROM datasets WHERE name = 'chats'
            """,
            new { userId = _userId });
    }

    private Task<(int ExitCode, string StandardOutput, string StandardError)> BrunAsync(params string[] arguments) =>
        BrunProcess.RunAsync(
            new Dictionary<string, string?>
            {
                ["ConnectionStrings__Postgres"] = _db.ConnectionString,
                ["ConnectionStrings__Blobs"] = environment.Azurite.ConnectionString,
            },
            arguments);
}
