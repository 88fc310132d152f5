using System.Text.Json;
using System.Text.Json.Nodes;
using BRun.Diagnostics.Cli;

namespace BRun.Diagnostics.Cli.Tests;

public sealed class ValidateCommandTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("brun-validate-").FullName;

    /// <summary>The samples the Core tests keep, found from the build output by walking up to the solution.</summary>
    private static string FixtureDirectory
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "BRun.Diagnostics.sln")))
            {
                directory = directory.Parent;
            }

            Assert.NotNull(directory);
            return Path.Combine(directory.FullName, "tests", "BRun.Diagnostics.Core.Tests", "Fixtures");
        }
    }

    /// <summary>samples/responses: the README's `brun validate` example.</summary>
    private static string SampleDirectory => Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(FixtureDirectory)))!, "samples", "responses");

    [Theory]
    [InlineData("complete.json", null, null)]
    [InlineData("end-turn-lone-backslash.json", "truncation", "lone_backslash")]
    [InlineData("max-tokens-cut.json", "truncation", "max_tokens")]
    [InlineData("refusal.json", "validation_error", "refusal")]
    [InlineData("stream-complete.sse", null, null)]
    [InlineData("stream-cut.sse", "truncation", "stream_cut")]
    public async Task The_readme_samples_get_the_verdicts_in_their_readme(string file, string? failureType, string? pattern)
    {
        var (_, output, _) = await RunAsync("validate", "--format", "jsonl", Path.Combine(SampleDirectory, file));

        var line = Assert.Single(Lines(output));
        Assert.Equal(failureType, line["failure_type"]?.GetValue<string>());
        Assert.Equal(pattern, line["pattern"]?.GetValue<string>());
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await BrunCommandLine.InvokeAsync(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    private static List<JsonObject> Lines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!.AsObject())];

    private static string Body(string text, string stopReason = "end_turn") => JsonSerializer.Serialize(new
    {
        type = "message",
        content = new[] { new { type = "text", text } },
        stop_reason = stopReason,
        usage = new { input_tokens = 10, output_tokens = 20 },
    });

    [Fact]
    public async Task A_transcript_trimmed_of_its_final_blank_line_is_ok_with_a_note()
    {
        // Saved transcripts (the Python SDK's recorded fixtures among them) often end right after message_stop's data.
        var trimmed = File.ReadAllText(Path.Combine(FixtureDirectory, "stream-complete-00.sse")).TrimEnd();
        var path = Path.Combine(_temp, "trimmed.sse");
        await File.WriteAllTextAsync(path, trimmed);

        var (exitCode, output, _) = await RunAsync("validate", "--format", "jsonl", path);

        Assert.Equal(0, exitCode);
        var line = Assert.Single(Lines(output));
        Assert.True(line["ok"]!.GetValue<bool>());
        Assert.Contains("lacks the blank line", line["note"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_FixtureDirectory_ExitsOneAndPrintsAVerdictPerFile()
    {
        var (exitCode, output, _) = await RunAsync("validate", "--format", "jsonl", FixtureDirectory);

        var lines = Lines(output);
        Assert.Equal(1, exitCode);
        Assert.Equal(16, lines.Count);
        Assert.Equal(["complete-000.json", "complete-001.json", "stream-complete-00.sse"], lines.Where(l => (bool)l["ok"]!).Select(l => Path.GetFileName((string)l["file"]!)));
    }

    [Theory]
    [InlineData("complete-000.json", true, null, null, "end_turn")]
    [InlineData("maxtok-000.json", false, "truncation", "max_tokens", "max_tokens")]
    [InlineData("turncut-000.json", false, "truncation", "mid_word", "end_turn")]
    [InlineData("error-429-00.json", false, "api_error", "rate_limit_error", null)]
    [InlineData("junk-html.json", false, "parse_error", "not_json", null)]
    [InlineData("stream-cut-00.sse", false, "truncation", "stream_cut", null)]
    public async Task Validate_Jsonl_GivesTheFieldsOfEachVerdict(string file, bool ok, string? failureType, string? pattern, string? stopReason)
    {
        var (_, output, _) = await RunAsync("validate", "--format", "jsonl", Path.Combine(FixtureDirectory, file));

        var line = Assert.Single(Lines(output));
        Assert.Equal(ok, (bool)line["ok"]!);
        Assert.Equal(failureType, (string?)line["failure_type"]);
        Assert.Equal(pattern, (string?)line["pattern"]);
        Assert.Equal(stopReason, (string?)line["stop_reason"]);
        Assert.Equal(ok, line["details"] is null);
        Assert.Equal(ok, line["confidence"] is null);
        Assert.True(line.ContainsKey("failure_type"));
    }

    [Fact]
    public async Task Validate_AllValidFiles_ExitsZeroWithATextSummary()
    {
        var (exitCode, output, error) = await RunAsync(
            "validate", Path.Combine(FixtureDirectory, "complete-000.json"), Path.Combine(FixtureDirectory, "stream-complete-00.sse"));

        Assert.Equal(0, exitCode);
        Assert.Empty(error);
        Assert.Contains("2 files: 2 ok, 0 rejected", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_TextFormat_NamesTypeAndPatternOfARejection()
    {
        var (_, output, _) = await RunAsync("validate", Path.Combine(FixtureDirectory, "endturn-cut-lone_backslash-000.json"));

        Assert.Contains("FAIL", output, StringComparison.Ordinal);
        Assert.Contains("truncation/lone_backslash (high)", output, StringComparison.Ordinal);
        Assert.Contains("1 file: 0 ok, 1 rejected (truncation 1)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_MissingPath_ExitsTwoWithAMessage()
    {
        var missing = Path.Combine(_temp, "nope.json");

        var (exitCode, output, error) = await RunAsync("validate", missing);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains(missing, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("validate")]
    [InlineData("validate", "--format", "xml", ".")]
    [InlineData("validate", "--bogus", ".")]
    public async Task Validate_UsageErrors_ExitTwo(params string[] args)
    {
        var (exitCode, _, error) = await RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.StartsWith("brun validate:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_DirectoryWithoutResponses_ExitsTwo()
    {
        await File.WriteAllTextAsync(Path.Combine(_temp, "README.md"), "# nothing here");

        var (exitCode, _, error) = await RunAsync("validate", _temp);

        Assert.Equal(2, exitCode);
        Assert.Contains("no .json or .sse files", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_Directory_RecursesInOrdinalOrderAndSkipsOtherFiles()
    {
        var good = Body("""{"turns": [{"role": "assistant", "content": "Fine."}]}""");
        Directory.CreateDirectory(Path.Combine(_temp, "b"));
        await File.WriteAllTextAsync(Path.Combine(_temp, "b", "a.json"), good);
        await File.WriteAllTextAsync(Path.Combine(_temp, "a.sse"), await File.ReadAllTextAsync(Path.Combine(FixtureDirectory, "stream-complete-00.sse")));
        await File.WriteAllTextAsync(Path.Combine(_temp, "c.JSON"), good);
        await File.WriteAllTextAsync(Path.Combine(_temp, "notes.txt"), "not a response");

        var (exitCode, output, _) = await RunAsync("validate", "--format", "jsonl", _temp);

        Assert.Equal(0, exitCode);
        Assert.Equal(
            [Path.Combine(_temp, "a.sse"), Path.Combine(_temp, "b", "a.json"), Path.Combine(_temp, "c.JSON")],
            Lines(output).Select(l => (string)l["file"]!));
    }

    [Fact]
    public async Task Validate_FileStartingWithEvent_IsReadAsATranscriptWhateverItsName()
    {
        var file = Path.Combine(_temp, "capture.txt");
        File.Copy(Path.Combine(FixtureDirectory, "stream-maxtok-00.sse"), file);

        var (_, output, _) = await RunAsync("validate", "--format", "jsonl", file);

        var line = Assert.Single(Lines(output));
        Assert.True((bool)line["streamed"]!);
        Assert.Equal("max_tokens", (string?)line["pattern"]);
        Assert.Equal(397, (int?)line["output_tokens"]);
    }

    [Fact]
    public async Task Validate_MultiMegabyteBody_IsJudged()
    {
        var content = string.Concat(Enumerable.Repeat("One small \"step\" at a time, C:\\budget 🙂. ", 120_000));
        var conversation = JsonSerializer.Serialize(new { turns = new[] { new { role = "user", content = "Help?" }, new { role = "assistant", content } } });
        var file = Path.Combine(_temp, "big.json");
        await File.WriteAllTextAsync(file, Body(conversation));
        var cut = Path.Combine(_temp, "big-cut.json");
        await File.WriteAllTextAsync(cut, Body(conversation[..^40]));

        var (exitCode, output, _) = await RunAsync("validate", "--format", "jsonl", file, cut);

        var lines = Lines(output);
        Assert.True(new FileInfo(file).Length > 5_000_000);
        Assert.Equal(1, exitCode);
        Assert.True((bool)lines[0]["ok"]!);
        Assert.Equal("truncation", (string?)lines[1]["failure_type"]);
    }
}
