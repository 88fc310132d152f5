using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace BRun.Diagnostics.Web.Tests.Failures;

public sealed class FailureFilterQueryTests
{
    private static FailureFilterParseResult Parse(string query, params string[] otherKeys) =>
        FailureFilterQuery.Parse(QueryHelpers.ParseQuery(query), otherKeys);

    [Theory]
    [InlineData("failure_type=bogus", "failure_type")]
    [InlineData("failure_type=TRUNCATION", "failure_type")]
    [InlineData("run_id=not-a-guid", "run_id")]
    [InlineData("from=yesterday", "from")]
    [InlineData("from=12/02/2026", "from")]
    [InlineData("to=2026-02-30", "to")]
    [InlineData("to=9999-12-31", "to")]
    [InlineData("stop_reason=end_turn%0A", "stop_reason")]
    [InlineData("model=claude%00", "model")]
    [InlineData("pattern=Mid_Word", "pattern")]
    [InlineData("failuretype=truncation", "failuretype")]
    public void A_value_that_cannot_be_honoured_is_a_problem_naming_its_parameter(string query, string parameter)
    {
        var result = Parse(query);

        Assert.Equal(parameter, Assert.Single(result.Problems).Parameter);
    }

    [Fact]
    public void The_problem_lists_the_accepted_failure_types()
    {
        var problem = Assert.Single(Parse("failure_type=TRUNCATION").Problems);

        Assert.Contains("truncation, parse_error, api_error, validation_error", problem.Accepted, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repeated_parameter_is_a_problem_not_an_or()
    {
        var problem = Assert.Single(Parse("failure_type=truncation&failure_type=api_error").Problems);

        Assert.Contains("2 times", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_10_kb_search_is_a_problem_naming_q()
    {
        var result = FailureFilterQuery.Parse([new KeyValuePair<string, StringValues>("q", new string('x', 10_240))]);

        Assert.Equal("q", Assert.Single(result.Problems).Parameter);
    }

    [Fact]
    public void An_exact_timestamp_is_honoured_to_the_tick()
    {
        var state = Parse("from=2026-12-02T10:15:30.25Z&to=2026-12-02T11:00:00%2B01:00").State;

        Assert.Equal(new DateTimeOffset(2026, 12, 2, 10, 15, 30, 250, TimeSpan.Zero), state.From);
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero), state.To);
    }

    [Fact]
    public void A_date_alone_in_to_includes_that_whole_day()
    {
        var state = Parse("from=2026-12-02&to=2026-12-02").State;

        Assert.Equal(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero), state.From);
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero), state.To);
    }

    [Fact]
    public void To_before_from_is_a_problem_naming_to()
    {
        var problem = Assert.Single(Parse("from=2026-12-02T10:00:00Z&to=2026-12-02T09:00:00Z").Problems);

        Assert.Equal("to", problem.Parameter);
    }

    [Fact]
    public void Empty_values_are_the_same_as_no_parameter()
    {
        var result = Parse("failure_type=&q=&run_id=");

        Assert.True(result.IsValid);
        Assert.True(result.State.IsEmpty);
    }

    [Fact]
    public void The_callers_own_parameters_are_left_to_the_caller()
    {
        Assert.True(Parse("page=abc&limit=x", "page", "limit").IsValid);
    }

    [Theory]
    [InlineData("failure_type=api_error&stop_reason=(none)&pattern=mid_word&model=claude-sonnet-4-5&run_id=3f2504e0-4f89-11d3-9a0c-0305e82c3301&from=2026-12-01&to=2026-12-02&q=50%25%20off")]
    [InlineData("from=2026-12-02T10:15:30.1234567Z&to=2026-12-03T00:00:01Z")]
    public void A_state_written_to_a_query_reads_back_equal(string query)
    {
        var state = Parse(query).State;

        var again = Parse(state.ToQueryString().TrimStart('?'));

        Assert.True(again.IsValid);
        Assert.Equal(state, again.State);
    }
}
