using System.CommandLine;

namespace BRun.Diagnostics.Cli.Tests.Datasets;

/// <summary>Usage errors of import, scan and export: found before any database is touched, so run in-process.</summary>
public sealed class DatasetCommandsUsageTests
{
    [Theory]
    [InlineData("scan")]
    [InlineData("scan", "--all", "--dataset", "x")]
    [InlineData("export", "--format", "xml", "out.jsonl")]
    [InlineData("export", "--format", "openai", "--since", "yesterday", "out.jsonl")]
    [InlineData("export", "--format", "openai", "/no/such/dir/out.jsonl")]
    [InlineData("import")]
    [InlineData("import", "--format", "csv", "x.jsonl")]
    [InlineData("import", "/no/such/file.jsonl")]
    public async Task Usage_errors_exit_2_with_one_line_on_stderr(params string[] arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await BrunCommandLine.Build().Parse(arguments).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });

        Assert.Equal(2, exit);
        Assert.Single(error.ToString().Trim().Split('\n'));
    }
}
