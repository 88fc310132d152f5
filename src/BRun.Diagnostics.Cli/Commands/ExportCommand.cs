using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Datasets;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun export --format openai|sharegpt [--dataset NAME] [--run ID] [--since TIME] [--model M] [--include-simulated]
/// [--user EMAIL] OUT.jsonl</c>: writes training JSONL and <c>OUT.manifest.json</c> beside it. The JSONL is written to a
/// temporary file first and renamed when complete, so a failed export never leaves a partial file under the name.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var output = new Argument<string>("OUT") { Description = "The JSONL file to write; the manifest goes to OUT.manifest.json." };
        var format = new Option<string>("--format") { Description = "openai or sharegpt.", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "Only this dataset (by name)." };
        var run = CliValues.IdOption("--run", "run id", "Only this run.");
        var since = new Option<string?>("--since") { Description = "Only conversations stored at or after this time (ISO 8601)." };
        var model = new Option<string?>("--model") { Description = "Only this model." };
        var includeSimulated = new Option<bool>("--include-simulated") { Description = "Include conversations the built-in simulator made." };
        var user = new Option<string>("--user") { Description = "Email of the user exporting (row-level security).", DefaultValueFactory = _ => RunCommand.DefaultUserEmail };
        var command = new Command("export", "Write stored conversations as training JSONL; each one is re-validated and failures are left out.")
        {
            output, format, dataset, run, since, model, includeSimulated, user,
        };
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            if (!TrainingFormats.TryParse(parse.GetValue(format), out var trainingFormat) || trainingFormat is not (TrainingFormat.OpenAi or TrainingFormat.ShareGpt))
            {
                await error.WriteLineAsync($"brun export: unknown --format '{parse.GetValue(format)}'; use openai or sharegpt.").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            DateTimeOffset? sinceTime = null;
            if (parse.GetValue(since) is { } sinceText)
            {
                if (!DateTimeOffset.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                {
                    await error.WriteLineAsync($"brun export: --since '{sinceText}' is not a date or time (use ISO 8601, e.g. 2026-03-01T00:00:00Z).").ConfigureAwait(false);
                    return RunCommand.ExitUsage;
                }

                sinceTime = parsed;
            }

            var path = Path.GetFullPath(parse.GetValue(output)!);
            if (!Directory.Exists(Path.GetDirectoryName(path)))
            {
                await error.WriteLineAsync($"brun export: the directory of {path} does not exist.").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            using var host = CliHost.BuildForData();
            var owner = await CliUsers.FindAsync(host, parse.GetValue(user)!, error, "export", ct).ConfigureAwait(false);
            if (owner is null)
            {
                return RunCommand.ExitUsage;
            }

            Guid? datasetId = null;
            if (parse.GetValue(dataset) is { } name)
            {
                datasetId = await host.Services.GetRequiredService<DatasetImporter>().FindDatasetAsync(owner.Id, name, ct).ConfigureAwait(false);
                if (datasetId is null)
                {
                    await error.WriteLineAsync($"brun export: no dataset named {name} (--dataset) for {owner.Email}.").ConfigureAwait(false);
                    return RunCommand.ExitUsage;
                }
            }

            var temporary = path + ".partial";
            try
            {
                TrainingExportManifest manifest;
                await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    manifest = await host.Services.GetRequiredService<TrainingExporter>().ExportAsync(
                        owner.Id, trainingFormat, new TrainingExportFilter(datasetId, parse.GetValue(run), sinceTime, parse.GetValue(model), parse.GetValue(includeSimulated)), file, ct).ConfigureAwait(false);
                }

                File.Move(temporary, path, overwrite: true);
                var manifestPath = ManifestPath(path);
                await File.WriteAllTextAsync(manifestPath, JsonSerializer.Serialize(manifest, TrainingExportManifest.JsonOptions), ct).ConfigureAwait(false);
                await parse.InvocationConfiguration.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{path}: {manifest.Written} conversations written, {manifest.LeftOutCount} left out (failed re-validation; ids and reasons in {manifestPath}), sha256 {manifest.Sha256}")).ConfigureAwait(false);
                return RunCommand.ExitOk;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Npgsql.NpgsqlException or OperationCanceledException)
            {
                File.Delete(temporary);
                await error.WriteLineAsync($"brun export: {ex.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }

    /// <summary><c>out.jsonl</c> → <c>out.manifest.json</c>.</summary>
    internal static string ManifestPath(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, Path.GetFileNameWithoutExtension(path) + ".manifest.json");
}
