using BRun.Diagnostics.Cli.Tests.Pipeline;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Cli.Tests.Retention;

/// <summary><c>brun retention run|list</c> as a separate process, configured through the environment like the web host.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RetentionCommandTests(IntegrationEnvironment environment)
{
    private static Task<(int ExitCode, string StandardOutput, string StandardError)> BrunAsync(TestDatabase db, string azurite, params string[] arguments) =>
        BrunProcess.RunAsync(
            new Dictionary<string, string?>
            {
                ["ConnectionStrings__Postgres"] = db.ConnectionString,
                ["ConnectionStrings__Blobs"] = azurite,
                ["BlobStorage__ContainerName"] = db.ContainerName,
            },
            arguments);

    [Fact]
    public async Task Retention_run_with_retention_off_and_no_older_than_is_a_usage_error()
    {
        await using var db = await environment.CreateDatabaseAsync();

        var (exitCode, _, error) = await BrunAsync(db, environment.Azurite.ConnectionString, "retention", "run");

        Assert.Equal(CliExit.Usage, exitCode);
        Assert.Contains("retention is off", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dry_run_is_printed_and_then_listed_as_a_dry_run()
    {
        await using var db = await environment.CreateDatabaseAsync();

        var (runExit, runOutput, _) = await BrunAsync(db, environment.Azurite.ConnectionString, "retention", "run", "--dry-run", "--older-than", "30");
        var (_, listOutput, _) = await BrunAsync(db, environment.Azurite.ConnectionString, "retention", "list", "--format", "json");

        Assert.Equal(CliExit.Ok, runExit);
        Assert.Contains("completed (dry run): older than 30 days", runOutput, StringComparison.Ordinal);
        Assert.Contains("\"dryRun\":true", listOutput, StringComparison.Ordinal);
    }
}
