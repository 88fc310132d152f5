using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using BRun.Diagnostics.Core.Text;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun validate [--format text|jsonl] PATH...</c>: judges saved responses (Messages API bodies or SSE
/// transcripts, or directories of them) with the same validator the pipeline uses.
/// Exit codes: 0 all valid, 1 at least one rejected, 2 usage or I/O error.
/// </summary>
internal static class ValidateCommand
{
    public const int ExitOk = 0;
    public const int ExitRejected = 1;
    public const int ExitUsageOrIo = 2;

    private static readonly JsonSerializerOptions LineOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,

        // Details quote the response's own text; keep it readable in a terminal rather than \u-escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Create()
    {
        var format = CliValues.Choice("--format", "Output format: text (a line per file and a summary) or jsonl (one JSON object per file).", "text", "text", "jsonl");
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Saved response files (.json body or .sse transcript) or directories (searched recursively for *.json and *.sse).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("validate", "Validate saved Claude responses and say why each one would be rejected.")
        {
            format,
            paths,
        };

        // Unknown options and a bad --format are parse errors: BrunCommandLine reports them as one line, exit 2.
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult.GetValue(format) ?? "text",
            parseResult.GetValue(paths) ?? [],
            parseResult.UnmatchedTokens,
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    internal static async Task<int> RunAsync(
        string format,
        IReadOnlyList<string> paths,
        IReadOnlyList<string> unmatched,
        TextWriter output,
        TextWriter error,
        CancellationToken cancellationToken)
    {
        var jsonl = format.Equals("jsonl", StringComparison.OrdinalIgnoreCase);
        if (!jsonl && !format.Equals("text", StringComparison.OrdinalIgnoreCase))
        {
            await error.WriteLineAsync($"brun validate: unknown --format '{format}'; use text or jsonl.").ConfigureAwait(false);
            return ExitUsageOrIo;
        }

        if (unmatched.Count > 0 || paths.Count == 0)
        {
            var problem = unmatched.Count > 0 ? $"unrecognised arguments: {string.Join(' ', unmatched)}" : "no PATH given";
            await error.WriteLineAsync($"brun validate: {problem}. Usage: brun validate [--format text|jsonl] PATH...").ConfigureAwait(false);
            return ExitUsageOrIo;
        }

        var files = new List<string>();
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                files.Add(path);
            }
            else if (Directory.Exists(path))
            {
                files.AddRange(FindResponseFiles(path));
            }
            else
            {
                await error.WriteLineAsync(path.StartsWith('-')
                    ? $"brun validate: unknown option '{path}'. See 'brun validate --help'."
                    : $"brun validate: no such file or directory: {path}").ConfigureAwait(false);
                return ExitUsageOrIo;
            }
        }

        if (files.Count == 0)
        {
            await error.WriteLineAsync("brun validate: no .json or .sse files found under the given paths.").ConfigureAwait(false);
            return ExitUsageOrIo;
        }

        var validator = new ResponseValidator();
        var summary = new Summary();
        foreach (var file in files)
        {
            string content;
            try
            {
                content = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"brun validate: cannot read {file}: {ex.Message}").ConfigureAwait(false);
                summary.Unreadable++;
                continue;
            }

            var saved = SavedResponseReader.Read(file, content);
            var result = validator.Validate(saved.Parsed, ResponseContext.SavedFile(saved.Streamed));
            summary.Add(result);
            var line = jsonl ? JsonLine(file, saved, result) : TextLine(file, saved, result);
            await output.WriteLineAsync(line).ConfigureAwait(false);
        }

        if (!jsonl)
        {
            await output.WriteLineAsync(summary.ToString()).ConfigureAwait(false);
        }

        return summary.Unreadable > 0 ? ExitUsageOrIo : summary.Failed > 0 ? ExitRejected : ExitOk;
    }

    /// <summary>Every *.json and *.sse file under <paramref name="directory"/>, in ordinal path order.</summary>
    internal static IEnumerable<string> FindResponseFiles(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".sse", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);

    private static string JsonLine(string file, SavedResponse saved, ValidationResult result) =>
        JsonSerializer.Serialize(
            new ValidateLine(
                file,
                result.IsOk,
                result.Failure?.Type.ToWire(),
                result.StopReason,
                result.Failure?.Pattern,
                result.Failure?.Confidence.ToWire(),
                result.Failure?.Details,
                saved.Parsed.Usage.OutputTokens,
                saved.Streamed,
                result.Conversation?.Turns.Count,
                result.Failure?.TurnIndex,
                result.Failure?.ContentOffset,
                Note(saved)),
            LineOptions);

    /// <summary>What was seen that does not change the verdict: saved transcripts often lose their final blank line.</summary>
    private static string? Note(SavedResponse saved) => saved.Parsed.EndedWithoutBlankLine
        ? "the transcript lacks the blank line after its last event; the event itself is complete"
        : null;

    private static string TextLine(string file, SavedResponse saved, ValidationResult result) => result.IsOk
        ? string.Create(CultureInfo.InvariantCulture, $"ok    {file}  {result.StopReason}, {result.Conversation.Turns.Count} turns{(Note(saved) is { } note ? $" (note: {note})" : string.Empty)}")
        : $"FAIL  {file}  {result.Failure.Type.ToWire()}/{result.Failure.Pattern} ({result.Failure.Confidence.ToWire()}): {result.Failure.Details}";

    private sealed record ValidateLine(
        string File,
        bool Ok,
        string? FailureType,
        string? StopReason,
        string? Pattern,
        string? Confidence,
        string? Details,
        int? OutputTokens,
        bool Streamed,
        int? Turns,
        int? TurnIndex,
        int? ContentOffset,
        string? Note);

    private sealed class Summary
    {
        private readonly SortedDictionary<string, int> _byType = new(StringComparer.Ordinal);

        public int Ok { get; private set; }
        public int Failed { get; private set; }
        public int Unreadable { get; set; }

        public void Add(ValidationResult result)
        {
            if (result.IsOk)
            {
                Ok++;
                return;
            }

            Failed++;
            var type = result.Failure.Type.ToWire();
            _byType[type] = _byType.GetValueOrDefault(type) + 1;
        }

        public override string ToString()
        {
            var byType = _byType.Count == 0 ? string.Empty : $" ({string.Join(", ", _byType.Select(p => $"{p.Key} {p.Value}"))})";
            var unreadable = Unreadable > 0 ? $", {Unreadable} unreadable" : string.Empty;
            return string.Create(CultureInfo.InvariantCulture, $"{Plural.Of(Ok + Failed, "file")}: {Ok} ok, {Failed} rejected{byType}{unreadable}");
        }
    }
}
