using System.Text.Json;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Cli.Tests.Pipeline;

[Collection(IntegrationEnvironment.Collection)]
public sealed class RunCommandTests(IntegrationEnvironment environment) : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private string _email = null!;

    public async Task InitializeAsync()
    {
        _db = await environment.CreateDatabaseAsync();
        _email = (await _db.CreateUserAsync()).Email;
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Create_PrintsTheRunIdAlone_AndStatusReportsItsCounts()
    {
        var (exit, stdout, stderr) = await BrunAsync("run", "create", "--count", "7", "--user", _email, "--max-tokens", "2048");
        Assert.True(exit == 0, stderr);
        var runId = Guid.Parse(stdout.Trim());

        var status = await BrunAsync("run", "status", runId.ToString(), "--format", "json");

        Assert.Equal(0, status.ExitCode);
        using var json = JsonDocument.Parse(status.StandardOutput);
        Assert.Equal("running", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(7, json.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("succeeded").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("failed").GetInt32());
        Assert.Equal(7, json.RootElement.GetProperty("pending").GetInt32());
    }

    [Fact]
    public async Task Create_ForAnUnknownUser_ExitsWithUsageError()
    {
        var (exit, stdout, stderr) = await BrunAsync("run", "create", "--count", "3", "--user", "nobody@example.test");

        Assert.Equal(2, exit);
        Assert.Empty(stdout.Trim());
        Assert.Contains("brun user create", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wait_OnARunNobodyWorksOn_TimesOutWithExitOne()
    {
        var runId = (await BrunAsync("run", "create", "--count", "2", "--user", _email)).StandardOutput.Trim();

        var (exit, _, stderr) = await BrunAsync("run", "wait", runId, "--timeout", "1");

        Assert.Equal(1, exit);
        Assert.Contains("still running", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_DropsThePendingTasks_AndWaitThenReturnsAtOnce()
    {
        var runId = (await BrunAsync("run", "create", "--count", "4", "--user", _email)).StandardOutput.Trim();

        var cancel = await BrunAsync("run", "cancel", runId);
        var again = await BrunAsync("run", "cancel", runId);
        var wait = await BrunAsync("run", "wait", runId, "--timeout", "10");

        Assert.Equal((0, 1), (cancel.ExitCode, again.ExitCode));
        Assert.Equal(0, wait.ExitCode);
        using var json = JsonDocument.Parse(wait.StandardOutput);
        Assert.Equal("cancelled", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(4, json.RootElement.GetProperty("cancelled").GetInt32());
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
