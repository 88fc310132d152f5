using BRun.Diagnostics.Core.Reports;

namespace BRun.Diagnostics.Core.Tests.Reports;

public sealed class StopReasonAnalyzerTests
{
    private static StopReasonAnalysis Analyze(string? stopReason, int? output = 1000, int max = 24576) =>
        StopReasonAnalyzer.Analyze(new StopReasonFacts { StopReason = stopReason, OutputTokens = output, InputTokens = 2000, MaxTokens = max, HttpStatus = 200 });

    [Fact]
    public void End_turn_far_below_max_tokens_points_at_causes_other_than_the_limit()
    {
        var result = Analyze("end_turn", output: 5000);

        Assert.Contains("FAR below max_tokens", result.Conclusion, StringComparison.Ordinal);
        Assert.Contains("client-side timeout", result.Conclusion, StringComparison.Ordinal);
        Assert.DoesNotContain("1,000 tokens (~4.3 KB)", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void End_turn_near_1000_tokens_names_the_known_cluster()
    {
        var result = Analyze("end_turn", output: 1003);

        Assert.Contains("known cluster of premature cuts at about 1,000 tokens", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void End_turn_between_half_and_nine_tenths_is_within_the_limit()
    {
        var result = Analyze("end_turn", output: 15000);

        Assert.Contains("well within max_tokens", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void End_turn_near_max_tokens_suggests_headroom()
    {
        var result = Analyze("end_turn", output: 24000);

        Assert.Contains("near max_tokens", result.Conclusion, StringComparison.Ordinal);
        Assert.Contains("Raise max_tokens", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void End_turn_with_a_tiny_max_tokens_is_not_called_far_below()
    {
        // The plan's rule (remaining > 80% of max) is the only "far below" test; with max 1,024 and 1,000 used it is near.
        var result = Analyze("end_turn", output: 1000, max: 1024);

        Assert.Contains("near max_tokens", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void End_turn_without_output_tokens_says_the_comparison_is_impossible()
    {
        var result = Analyze("end_turn", output: null);

        Assert.Contains("output_tokens was not reported", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Max_tokens_at_the_limit_says_raise_the_limit()
    {
        var result = Analyze("max_tokens", output: 24576);

        Assert.Contains("cut off", result.Analysis, StringComparison.Ordinal);
        Assert.Contains("Truncation caused by the max_tokens limit (24,576)", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Max_tokens_well_below_the_configured_limit_blames_the_models_own_limit()
    {
        var result = Analyze("max_tokens", output: 8192);

        Assert.Contains("model's own output limit", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Context_window_exceeded_says_raising_max_tokens_does_not_help()
    {
        var result = Analyze("model_context_window_exceeded");

        Assert.Contains("context window", result.Analysis, StringComparison.Ordinal);
        Assert.Contains("Raising max_tokens does not help", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Refusal_includes_the_stop_details()
    {
        var result = StopReasonAnalyzer.Analyze(new StopReasonFacts
        {
            StopReason = "refusal",
            MaxTokens = 4096,
            StopDetailsCategory = "cyber",
            StopDetailsExplanation = "The request was declined.",
        });

        Assert.Contains("Category: cyber. Explanation: The request was declined.", result.Analysis, StringComparison.Ordinal);
        Assert.Contains("Do not retry the same prompt unchanged", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Refusal_without_stop_details_says_none_were_sent()
    {
        var result = Analyze("refusal");

        Assert.Contains("No stop_details were sent", result.Analysis, StringComparison.Ordinal);
    }

    [Fact]
    public void Pause_turn_says_the_content_is_incomplete()
    {
        var result = Analyze("pause_turn");

        Assert.Contains("incomplete", result.Analysis, StringComparison.Ordinal);
        Assert.Contains("server tools", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Tool_use_says_the_request_carried_tools()
    {
        var result = Analyze("tool_use");

        Assert.Contains("tool definitions", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Stop_sequence_names_the_sequence()
    {
        var result = StopReasonAnalyzer.Analyze(new StopReasonFacts { StopReason = "stop_sequence", StopSequence = "###", MaxTokens = 4096 });

        Assert.Contains("\"###\"", result.Analysis, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_stop_reason_is_kept_verbatim()
    {
        var result = Analyze("compaction");

        Assert.Contains("\"compaction\"", result.Analysis, StringComparison.Ordinal);
        Assert.Contains("\"compaction\"", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_stop_reason_after_a_timeout_blames_the_client_timeout()
    {
        var result = StopReasonAnalyzer.Analyze(new StopReasonFacts { MaxTokens = 1024, TransportFailure = "timeout", DurationMs = 30000 });

        Assert.Contains("timeout after 30,000 ms", result.Analysis, StringComparison.Ordinal);
        Assert.Contains("client timed out", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_stop_reason_after_a_connection_failure_points_at_the_network()
    {
        var result = StopReasonAnalyzer.Analyze(new StopReasonFacts { MaxTokens = 1024, TransportFailure = "connection_failed" });

        Assert.Contains("connection failed", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_stop_reason_in_a_cut_stream_says_the_stream_was_cut()
    {
        var result = StopReasonAnalyzer.Analyze(new StopReasonFacts
        {
            MaxTokens = 8192, OutputTokens = 950, HttpStatus = 200, Streamed = true, StreamOutcome = "cut_before_message_stop",
        });

        Assert.Contains("connection was cut mid-stream", result.Analysis, StringComparison.Ordinal);
        Assert.Contains("used 950 of 8,192", result.Conclusion, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_stop_reason_with_an_error_event_says_the_api_failed_mid_stream()
    {
        var result = StopReasonAnalyzer.Analyze(new StopReasonFacts { MaxTokens = 8192, HttpStatus = 200, Streamed = true, StreamOutcome = "error_event" });

        Assert.Contains("error event", result.Analysis, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_stop_reason_with_an_http_error_says_errors_carry_none()
    {
        var result = StopReasonAnalyzer.Analyze(new StopReasonFacts { MaxTokens = 8192, HttpStatus = 529 });

        Assert.Contains("HTTP 529", result.Analysis, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_stop_reason_in_a_200_body_says_the_body_is_not_a_message()
    {
        var result = StopReasonAnalyzer.Analyze(new StopReasonFacts { MaxTokens = 8192, HttpStatus = 200 });

        Assert.Contains("not a complete Messages API response", result.Analysis, StringComparison.Ordinal);
    }
}
