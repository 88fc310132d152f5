using System.IO.Compression;
using BRun.Diagnostics.Cli.Tests.Pipeline;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Cli.Tests.Reports;

/// <summary><c>brun run report</c> and <c>brun export-reports</c> in their own process, on a test database.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class ReportCommandTests(IntegrationEnvironment environment) : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private AppUser _owner = null!;
    private string _directory = null!;

    public async Task InitializeAsync()
    {
        _db = await environment.CreateDatabaseAsync();
        _owner = await _db.CreateUserAsync();
        _directory = Directory.CreateTempSubdirectory("brun-reports-").FullName;
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        await _db.DisposeAsync();
    }

    private static FailedGenerationInput Failure(Guid runId, int outputTokens) => new()
    {
        RunId = runId,
        Prompt = "Generate a conversation about an emergency fund.",
        Model = "claude-sonnet-4-5",
        MaxTokens = 4096,
        RawBody = "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"stop_reason\":\"end_turn\"}",
        ResponseContent = "Keep three months of expenses in \\",
        StopReason = "end_turn",
        OutputTokens = outputTokens,
        RequestId = "req_cli",
        HttpStatus = 200,
        Streamed = false,
        FailureType = FailureType.Truncation,
        TruncationPattern = "lone_backslash",
        TruncationDetails = "Content ends with a lone backslash",
        Confidence = Confidence.High,
    };

    private async Task<Guid> CreateRunWithFailuresAsync(int failures)
    {
        var created = await BrunAsync("run", "create", "--count", "3", "--user", _owner.Email);
        Assert.True(created.ExitCode == 0, created.StandardError);
        var runId = Guid.Parse(created.StandardOutput.Trim());
        var store = _db.Get<FailedGenerationStore>();
        for (var i = 0; i < failures; i++)
        {
            await store.StoreAsync(Failure(runId, 1000 + i), _owner.Id, CancellationToken.None);
        }

        return runId;
    }

    [Fact]
    public async Task Run_report_prints_markdown_with_the_runs_counts()
    {
        var runId = await CreateRunWithFailuresAsync(failures: 2);

        var (exit, stdout, stderr) = await BrunAsync("run", "report", runId.ToString(), "--format", "md");

        Assert.True(exit == 0, stderr);
        Assert.Contains($"# Run report {runId}", stdout, StringComparison.Ordinal);
        Assert.Contains("| [lone\\_backslash](http://127.0.0.1:5080/conversations/failed?run_id=" + runId + "&pattern=lone_backslash) | 2 |", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_report_writes_html_to_the_named_file()
    {
        var runId = await CreateRunWithFailuresAsync(failures: 1);
        var path = Path.Combine(_directory, "report.html");

        var (exit, _, stderr) = await BrunAsync("run", "report", runId.ToString(), "--format", "html", path);

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("<!DOCTYPE html>", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_report_of_an_unknown_run_is_one_line_and_exit_2()
    {
        var (exit, _, stderr) = await BrunAsync("run", "report", Guid.NewGuid().ToString());

        Assert.Equal((2, 1), (exit, stderr.Trim().Split('\n').Length));
    }

    [Fact]
    public async Task Export_reports_writes_one_entry_per_failure_of_the_run_and_the_index()
    {
        var runId = await CreateRunWithFailuresAsync(failures: 3);
        await CreateRunWithFailuresAsync(failures: 1);
        var path = Path.Combine(_directory, "reports.zip");

        var (exit, _, stderr) = await BrunAsync("export-reports", "--run-id", runId.ToString(), path);

        Assert.True(exit == 0, stderr);
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(4, zip.Entries.Count);
        Assert.Equal(3, zip.Entries.Count(e => e.FullName.StartsWith("failed-generation-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Export_reports_as_another_member_holds_none_of_the_owners_reports()
    {
        var runId = await CreateRunWithFailuresAsync(failures: 2);
        var other = await _db.CreateUserAsync();
        var path = Path.Combine(_directory, "reports.zip");

        var (exit, _, stderr) = await BrunAsync("export-reports", "--run-id", runId.ToString(), "--user", other.Email, path);

        Assert.True(exit == 0, stderr);
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(["index.csv"], zip.Entries.Select(e => e.FullName));
    }

    [Theory]
    [InlineData("--from", "yesterday")]
    [InlineData("--failure-type", "TRUNCATION")]
    [InlineData("--run-id", "not-a-guid")]
    public async Task Export_reports_with_a_malformed_filter_fails_and_writes_nothing(string option, string value)
    {
        var path = Path.Combine(_directory, "x.zip");

        var (exit, _, _) = await BrunAsync("export-reports", option, value, path);

        // System.CommandLine answers its own parse errors with exit 1; the CLI-wide exit 2 for usage is issue 13's.
        Assert.Equal((true, false), (exit != 0, File.Exists(path)));
    }

    private Task<(int ExitCode, string StandardOutput, string StandardError)> BrunAsync(params string[] arguments) =>
        BrunProcess.RunAsync(
            new Dictionary<string, string?>
            {
                ["ConnectionStrings__Postgres"] = _db.ConnectionString,
                ["ConnectionStrings__Blobs"] = environment.Azurite.ConnectionString,
                ["BlobStorage__ContainerName"] = _db.ContainerName,
            },
            arguments);
}
