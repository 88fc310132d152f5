using System.CommandLine;
using System.Text;
using BRun.Diagnostics.Core.Reports.Runs;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Reports;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun run report RUN_ID --format html|md [OUT]</c>: the run page's shareable report, the same file as
/// <c>GET /api/runs/{id}/report</c>, to OUT or to standard output. Links point at <c>Reports__DashboardUrl</c>
/// (default http://127.0.0.1:5080, where <c>./brun.sh run</c> serves the dashboard).
/// </summary>
internal static class RunReportCommand
{
    public static readonly Uri DefaultDashboardUrl = new("http://127.0.0.1:5080/");

    public static Command Create()
    {
        var runId = new Argument<Guid>("RUN_ID") { Description = "The run id." };
        var format = new Option<string>("--format") { Description = "html (one self-contained file) or md (Markdown).", DefaultValueFactory = _ => "html" };
        format.AcceptOnlyFromAmong("html", "md");
        var output = new Argument<FileInfo?>("OUT") { Description = "File to write; standard output when left out.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("report", "Write a run's shareable report (parameters, counts, failure rates, histogram, top failure clusters).")
        {
            runId, format, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var id = parse.GetValue(runId);
            var report = await host.Services.GetRequiredService<RunReportBuilder>().BuildAsync(DbIdentity.System, id, DefaultDashboardUrl, ct).ConfigureAwait(false);
            if (report is null)
            {
                throw CliException.Usage($"no run {id}.");
            }

            var text = parse.GetValue(format) == "md" ? RunReportMarkdownWriter.Write(report) : RunReportHtmlWriter.Write(report);
            if (parse.GetValue(output) is not { } file)
            {
                await parse.InvocationConfiguration.Output.WriteAsync(text).ConfigureAwait(false);
                return RunCommand.ExitOk;
            }

            try
            {
                await File.WriteAllTextAsync(file.FullName, text, new UTF8Encoding(false), ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"could not write {file.FullName}: {ex.Message}", ex);
            }

            await parse.InvocationConfiguration.Error.WriteLineAsync($"Wrote {file.FullName}.").ConfigureAwait(false);
            return RunCommand.ExitOk;
        });
        return command;
    }
}
