using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Failures;

namespace BRun.Diagnostics.Web.Tests.Failures;

public sealed class FailureRowViewTests
{
    private static FailureRowView Row(string? pattern, string? details, int? outputTokens) =>
        new(Guid.NewGuid(), DateTimeOffset.UnixEpoch, "truncation", null, pattern, details, outputTokens, 4096, "claude-sonnet-4-5", null);

    [Fact]
    public void A_stream_cut_row_says_after_how_many_events_instead_of_an_output_ratio()
    {
        var row = Row("stream_cut", "The stream ended without message_stop after 1,204 complete events (the last a content_block_delta); ...", 1);

        Assert.Equal(("stream cut after 1,204 events", (double?)null), (row.TokensText, row.ShownUtilisation));
    }

    [Fact]
    public void A_stream_cut_after_one_event_is_singular_and_one_without_a_count_says_only_stream_cut()
    {
        Assert.Equal(
            ("stream cut after 1 event", "stream cut"),
            (Row("stream_cut", "The stream ended without message_stop after 1 complete event.", 1).TokensText, Row("stream_cut", null, 1).TokensText));
    }

    [Fact]
    public void Other_rows_show_output_over_max_tokens_with_thousands_separators()
    {
        Assert.Equal("1,003 / 4,096 (24.5%)", Row("lone_backslash", "ends with a backslash", 1003).TokensText);
    }

    [Fact]
    public void A_row_keeps_the_details_only_to_a_tooltips_length_and_no_error_message()
    {
        var details = "The stream ended without message_stop after 12 complete events. " + new string('x', 2000);
        var summary = new FailedGenerationSummary
        {
            Id = Guid.NewGuid(), FailureType = "truncation", TruncationPattern = "stream_cut", TruncationDetails = details,
            ErrorMessage = new string('e', 5000), Model = "claude-sonnet-4-5", MaxTokens = 4096,
        };

        var row = FailureRowView.From(summary);
        var json = System.Text.Json.JsonSerializer.Serialize(row);

        Assert.Equal(FailureRowView.TooltipLength, row.TruncationDetails!.Length);
        Assert.Equal((details[..(FailureRowView.TooltipLength - 1)] + "…", "stream cut after 12 events"), (row.TruncationDetails, row.TokensText));
        Assert.DoesNotContain("eeee", json, StringComparison.Ordinal);
        Assert.True(json.Length < 1000, $"a row is {json.Length} characters of JSON");
    }

    [Fact]
    public void Short_details_are_kept_whole()
    {
        var summary = new FailedGenerationSummary { Id = Guid.NewGuid(), FailureType = "truncation", TruncationDetails = "ends with a backslash", Model = "m" };

        Assert.Equal("ends with a backslash", FailureRowView.From(summary).TruncationDetails);
    }

    [Fact]
    public void Details_are_not_cut_inside_a_surrogate_pair()
    {
        var details = new string('x', FailureRowView.TooltipLength - 2) + "😀" + new string('y', 50);
        var summary = new FailedGenerationSummary { Id = Guid.NewGuid(), FailureType = "truncation", TruncationDetails = details, Model = "m" };

        Assert.Equal(new string('x', FailureRowView.TooltipLength - 2) + "…", FailureRowView.From(summary).TruncationDetails);
    }
}
