using System.Text.Json;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Reports;

public sealed class ErrorReportBuilderTests
{
    private static readonly Guid Id = Guid.Parse("0195f0a0-1111-7000-8000-000000000001");
    private static readonly DateTimeOffset CreatedAt = new(2026, 3, 1, 12, 34, 56, 789, TimeSpan.Zero);

    private static FailedGenerationInput Input(string rawBody = """{"type":"message","id":"msg_1"}""") => new()
    {
        Prompt = "Write a conversation.",
        Model = "claude-sonnet-4-5",
        MaxTokens = 4096,
        Temperature = 0m,
        StructuredOutputsEnabled = false,
        RawBody = rawBody,
        ResponseContent = "partial",
        StopReason = "end_turn",
        InputTokens = 100,
        OutputTokens = 1000,
        HttpStatus = 200,
        Streamed = false,
        RateLimitHeaders = new Dictionary<string, string> { ["retry-after"] = "5", ["anthropic-ratelimit-tokens-remaining"] = "1000" },
        FailureType = FailureType.Truncation,
        TruncationPattern = "mid_word",
        Confidence = Confidence.Medium,
    };

    private static JsonElement Json(FailedGenerationInput input) =>
        JsonDocument.Parse(ErrorReportBuilder.BuildBytes(input, Id, CreatedAt)).RootElement;

    [Fact]
    public void Report_has_the_plans_sections_in_snake_case()
    {
        var root = Json(Input());

        Assert.Equal(
            ["error_report", "request_context", "raw_response", "extracted_content", "scaffolding_context", "diagnostics"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            ["input_tokens", "output_tokens", "max_tokens_configured", "tokens_remaining", "conclusion"],
            root.GetProperty("error_report").GetProperty("analysis").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Temperature_zero_stays_zero()
    {
        Assert.Equal(0m, Json(Input()).GetProperty("request_context").GetProperty("temperature").GetDecimal());
    }

    [Fact]
    public void Temperature_not_sent_is_null_not_a_made_up_default()
    {
        var temperature = Json(Input() with { Temperature = null }).GetProperty("request_context").GetProperty("temperature");

        Assert.Equal(JsonValueKind.Null, temperature.ValueKind);
    }

    [Fact]
    public void Temperature_reads_the_same_after_a_numeric_3_2_round_trip()
    {
        var original = ErrorReportBuilder.BuildBytes(Input() with { Temperature = 0.7m }, Id, CreatedAt);
        var fromColumn = ErrorReportBuilder.BuildBytes(Input() with { Temperature = 0.70m }, Id, CreatedAt);

        Assert.Equal(original, fromColumn);
    }

    [Fact]
    public void Unknown_output_tokens_leave_tokens_remaining_null()
    {
        var analysis = Json(Input() with { OutputTokens = null }).GetProperty("error_report").GetProperty("analysis");

        Assert.Equal(JsonValueKind.Null, analysis.GetProperty("tokens_remaining").ValueKind);
    }

    [Fact]
    public void Timestamp_is_the_creation_time_in_utc()
    {
        var timestamp = Json(Input()).GetProperty("error_report").GetProperty("timestamp").GetString();

        Assert.Equal("2026-03-01T12:34:56.789Z", timestamp);
    }

    [Fact]
    public void A_json_body_is_embedded_as_json()
    {
        Assert.Equal("msg_1", Json(Input()).GetProperty("raw_response").GetProperty("id").GetString());
    }

    [Fact]
    public void An_html_body_is_wrapped_as_text()
    {
        var raw = Json(Input("<html>502 Bad Gateway</html>")).GetProperty("raw_response");

        Assert.Equal(("text", "<html>502 Bad Gateway</html>"), (raw.GetProperty("format").GetString(), raw.GetProperty("body").GetString()));
    }

    [Fact]
    public void An_sse_transcript_is_wrapped_as_sse()
    {
        var raw = Json(Input("event: ping\ndata: {}\n\n")).GetProperty("raw_response");

        Assert.Equal("sse", raw.GetProperty("format").GetString());
    }

    [Fact]
    public void A_body_with_a_nul_escape_is_kept_as_text_because_jsonb_rejects_it()
    {
        Assert.Equal("text", RawResponseJson.ToNode("""{"a":"\u0000"}""").AsObject()["format"]!.GetValue<string>());
    }

    [Fact]
    public void Building_twice_gives_the_same_bytes_whatever_the_header_order()
    {
        var reordered = Input() with
        {
            RateLimitHeaders = new Dictionary<string, string> { ["anthropic-ratelimit-tokens-remaining"] = "1000", ["retry-after"] = "5" },
        };

        Assert.Equal(ErrorReportBuilder.BuildBytes(Input(), Id, CreatedAt), ErrorReportBuilder.BuildBytes(reordered, Id, CreatedAt));
    }

    [Fact]
    public void Diagnostics_carry_transport_and_detection_facts()
    {
        var diagnostics = Json(Input() with { RequestId = "req_9", Attempts = 3, DurationMs = 1234 }).GetProperty("diagnostics");

        Assert.Equal(ErrorReportBuilder.SchemaVersion, diagnostics.GetProperty("report_schema_version").GetInt32());
        Assert.Equal("req_9", diagnostics.GetProperty("request_id").GetString());
        Assert.Equal(3, diagnostics.GetProperty("attempts").GetInt32());
        Assert.Equal("medium", diagnostics.GetProperty("detection_confidence").GetString());
        Assert.Equal("5", diagnostics.GetProperty("rate_limit_headers").GetProperty("retry-after").GetString());
    }

    [Fact]
    public void Diagnostics_list_every_call_of_the_task_with_its_cost_and_the_simulated_marker()
    {
        var input = Input() with
        {
            CostUsd = 0.0123450000m,
            Simulated = true,
            ApiAttempts =
            [
                new ApiAttempt(1, "2026-03-01T12:00:00.000Z", 529, "req_a", "transient", "overloaded (529)", 0m),
                new ApiAttempt(2, "2026-03-01T12:00:04.000Z", 400, "req_b", "permanent", "HTTP 400 invalid_request_error", null),
            ],
        };

        var diagnostics = Json(input).GetProperty("diagnostics");

        Assert.Equal("0.012345", diagnostics.GetProperty("cost_usd").GetRawText());
        Assert.True(diagnostics.GetProperty("simulated").GetBoolean());
        var calls = diagnostics.GetProperty("api_attempts");
        Assert.Equal(2, calls.GetArrayLength());
        Assert.Equal(("req_a", 529), (calls[0].GetProperty("request_id").GetString(), calls[0].GetProperty("http_status").GetInt32()));
        Assert.Equal(("req_b", "permanent"), (calls[1].GetProperty("request_id").GetString(), calls[1].GetProperty("disposition").GetString()));
    }

    [Fact]
    public void Report_path_is_year_month_and_a_filename_safe_timestamp()
    {
        Assert.Equal($"2026/03/failed-{Id}-2026-03-01T12-34-56-789Z.json", FailureReportPath.For(Id, CreatedAt));
    }

    [Fact]
    public void Factory_takes_the_facts_from_the_captured_response()
    {
        var captured = new CapturedResponse
        {
            HttpStatus = 529,
            RawBody = """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_body"}""",
            Streamed = false,
            Parsed = MessageBodyParser.Parse("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_body"}"""),
            Attempts = 3,
            Duration = TimeSpan.FromMilliseconds(1500),
            Request = new RequestSnapshot("claude-sonnet-4-5", 2048, 0.5m, true, false, "prompt"),
        };
        var taskId = Guid.NewGuid();

        var input = FailedGenerationInputFactory.FromCapture(
            captured, FailureType.ApiError, null, null, Confidence.High, new FailureContext { TaskId = taskId });

        Assert.Equal(
            ("req_body", "overloaded_error: Overloaded", 3, 1500L, taskId, 2048, 0.5m),
            (input.RequestId, input.ErrorMessage, input.Attempts, input.DurationMs, input.TaskId, input.MaxTokens, input.Temperature));
    }
}
