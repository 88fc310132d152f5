using System.CommandLine;
using System.Globalization;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Datasets;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun import PATH... [--format auto|openai|sharegpt|messages-api] [--user EMAIL] [--label NAME]</c>: loads files
/// (JSONL) and directories (saved Messages API bodies and SSE transcripts) into a named dataset. Exit 0 when the
/// import completed (even with bad lines, which are listed), 1 when it failed, 2 for usage errors.
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH") { Description = "JSONL files, or directories of saved .json bodies / .sse transcripts.", Arity = ArgumentArity.ZeroOrMore };
        var format = new Option<string>("--format") { Description = "auto, openai, sharegpt or messages-api.", DefaultValueFactory = _ => "auto" };
        var user = new Option<string>("--user") { Description = "Email of the user the dataset belongs to.", DefaultValueFactory = _ => RunCommand.DefaultUserEmail };
        var label = new Option<string?>("--label") { Description = "Dataset name (default: the first file's or directory's name)." };
        var command = new Command("import", "Import existing datasets; every record is validated, cut ones go to failed generations.") { paths, format, user, label };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var output = parse.InvocationConfiguration.Output;
            var given = parse.GetValue(paths) ?? [];
            if (parse.UnmatchedTokens.Count > 0)
            {
                await error.WriteLineAsync($"brun import: unrecognised arguments: {string.Join(' ', parse.UnmatchedTokens)}").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            if (given.Length == 0)
            {
                await error.WriteLineAsync("brun import: no PATH given. Usage: brun import PATH... [--format auto|openai|sharegpt|messages-api] [--user EMAIL] [--label NAME]").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            if (!TrainingFormats.TryParse(parse.GetValue(format), out var trainingFormat))
            {
                await error.WriteLineAsync($"brun import: unknown --format '{parse.GetValue(format)}'; use auto, openai, sharegpt or messages-api.").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            if (given.FirstOrDefault(p => !File.Exists(p) && !Directory.Exists(p)) is { } missing)
            {
                await error.WriteLineAsync($"brun import: no such file or directory: {missing}").ConfigureAwait(false);
                return RunCommand.ExitUsage;
            }

            var name = parse.GetValue(label) ?? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(given[0]));
            using var host = CliHost.BuildForData();
            var owner = await CliUsers.FindAsync(host, parse.GetValue(user)!, error, "import", ct).ConfigureAwait(false);
            if (owner is null)
            {
                return RunCommand.ExitUsage;
            }

            try
            {
                var importer = host.Services.GetRequiredService<DatasetImporter>();
                var session = await importer.BeginAsync(owner.Id, name, trainingFormat, ct).ConfigureAwait(false);
                foreach (var path in given)
                {
                    await ImportPathAsync(session, path, trainingFormat, ct).ConfigureAwait(false);
                }

                var summary = await session.CompleteAsync(ct).ConfigureAwait(false);
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"dataset {summary.DatasetName} ({summary.DatasetId}), import {summary.ImportId}: {summary.Records} records, {summary.Imported} imported, {summary.Rejected} rejected by the validator (failed generations, source import), {summary.BadLines} bad lines")).ConfigureAwait(false);
                foreach (var bad in summary.FirstErrors)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  bad line {bad.Source}:{bad.Line}: {bad.Message}")).ConfigureAwait(false);
                }

                if (summary.BadLines > summary.FirstErrors.Count)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"  ... and {summary.BadLines - summary.FirstErrors.Count} more (all in dataset_import_errors, import {summary.ImportId})")).ConfigureAwait(false);
                }

                return RunCommand.ExitOk;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"brun import: {ex.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }

    private static async Task ImportPathAsync(DatasetImportSession session, string path, TrainingFormat format, CancellationToken ct)
    {
        if (File.Exists(path) && format != TrainingFormat.MessagesApi
            && !path.EndsWith(".sse", StringComparison.OrdinalIgnoreCase) && !(format == TrainingFormat.Auto && path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)))
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            await session.AddJsonLinesAsync(path, stream, ct).ConfigureAwait(false);
            return;
        }

        var files = File.Exists(path) ? [path] : ValidateCommand.FindResponseFiles(path);
        foreach (var file in files)
        {
            string content;
            try
            {
                content = await File.ReadAllTextAsync(file, ct).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                session.AddUnreadableFile(file, $"cannot be read: {ex.Message}");
                continue;
            }

            await session.AddSavedResponseAsync(file, content, ct).ConfigureAwait(false);
        }
    }
}
