using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Benchmarks.Validation;

/// <summary>
/// Cost of one validation decision on a parsed response whose text is a conversation of the given size,
/// complete or cut mid-word near the end. The baseline is the plan's regex list run on the same text; it only
/// looks at the ending, while the validator also scans the JSON, parses it and checks every assistant turn.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ResponseValidationBenchmarks
{
    private readonly ResponseValidator _validator = new();
    private readonly ResponseContext _context = new(200, MaxTokens: 24_576);
    private ParsedMessage _complete = null!;
    private ParsedMessage _truncated = null!;

    /// <summary>At least this many UTF-8 bytes of conversation text.</summary>
    [Params(20_000, 200_000, 5_000_000)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var text = BuildConversation(Size);
        _complete = Message(text);
        _truncated = Message(text[..(text.Length * 9 / 10)].TrimEnd() + " underst");
        if (!_validator.Validate(_complete, _context).IsOk || _validator.Validate(_truncated, _context).IsOk)
        {
            throw new InvalidOperationException("The benchmark inputs do not have the expected verdicts.");
        }
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("complete")]
    public PlanRegexBaselineDetector.Result PlanRegexBaseline_Complete() => PlanRegexBaselineDetector.DetectTruncatedContent(_complete.Text);

    [Benchmark]
    [BenchmarkCategory("complete")]
    public ValidationResult Validator_Complete() => _validator.Validate(_complete, _context);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("truncated")]
    public PlanRegexBaselineDetector.Result PlanRegexBaseline_Truncated() => PlanRegexBaselineDetector.DetectTruncatedContent(_truncated.Text);

    [Benchmark]
    [BenchmarkCategory("truncated")]
    public ValidationResult Validator_Truncated() => _validator.Validate(_truncated, _context);

    private static ParsedMessage Message(string text) => new()
    {
        Kind = BodyKind.Message,
        StopReason = "end_turn",
        Text = text,
        ContentBlockTypes = ["text"],
        StreamOutcome = StreamOutcome.NotStreamed,
    };

    /// <summary>Alternating turns of ~1.6 KB each, with quotes, backslashes and non-ASCII as real output has.</summary>
    private static string BuildConversation(int minimumBytes)
    {
        const string Sentence = "Let's look at the numbers together, one \"piece\" at a time — C:\\budget.xlsx is fine 🙂. ";
        var content = string.Concat(Enumerable.Repeat(Sentence, 18)).TrimEnd();
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("conversation_metadata");
            writer.WriteString("persona", "anxious_pre_retiree");
            writer.WriteString("emotional_arc", "overwhelm_to_agency");
            writer.WriteString("training_topic", "retirement");
            writer.WriteEndObject();
            writer.WriteStartArray("turns");
            for (var i = 0; stream.Length + writer.BytesPending < minimumBytes; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("role", i % 2 == 0 ? "user" : "assistant");
                writer.WriteString("content", content);
                writer.WriteEndObject();
                writer.Flush();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
