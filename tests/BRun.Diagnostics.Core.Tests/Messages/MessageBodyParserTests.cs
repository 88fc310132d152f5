using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Tests.Messages;

public class MessageBodyParserTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" \n ")]
    public void Parse_BlankBodyIsEmpty(string? body)
    {
        Assert.Equal(BodyKind.Empty, MessageBodyParser.Parse(body).Kind);
    }

    [Fact]
    public void Parse_HtmlIsNotJsonAndThePreviewShowsIt()
    {
        var parsed = MessageBodyParser.Parse(FixtureFiles.Read("junk-html.json"));

        Assert.Equal(BodyKind.NotJson, parsed.Kind);
        Assert.Contains("<html><head><title>502 Bad Gateway", parsed.ParseProblem, StringComparison.Ordinal);
        Assert.Contains("line 1", parsed.ParseProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TornBodyIsNotJson()
    {
        Assert.Equal(BodyKind.NotJson, MessageBodyParser.Parse("{\"type\": \"message\", \"content\": [").Kind);
    }

    [Theory]
    [InlineData("[1]", "Expected a JSON object")]
    [InlineData("{\"a\": 1}", "no \"type\" field")]
    [InlineData("{\"type\": \"completion\"}", "Unexpected body type \"completion\"")]
    public void Parse_OtherJsonIsAnUnexpectedShape(string body, string problem)
    {
        var parsed = MessageBodyParser.Parse(body);

        Assert.Equal(BodyKind.UnexpectedShape, parsed.Kind);
        Assert.Contains(problem, parsed.ParseProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ErrorBodyKeepsTypeMessageAndRequestId()
    {
        var parsed = MessageBodyParser.Parse(FixtureFiles.Read("error-429-00.json"));

        Assert.Equal(BodyKind.ApiError, parsed.Kind);
        Assert.Equal("rate_limit_error", parsed.ErrorType);
        Assert.StartsWith("Number of request tokens", parsed.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("req_011CSHoEeqs5C35K2UUqR7Fy", parsed.BodyRequestId);
    }

    [Fact]
    public void Parse_ErrorBodyWithoutErrorObjectGetsUnknownType()
    {
        Assert.Equal("unknown_error", MessageBodyParser.Parse("{\"type\": \"error\"}").ErrorType);
    }

    [Fact]
    public void Parse_MessageConcatenatesTextBlocksAndListsEveryBlockType()
    {
        const string body = """
            {"type":"message","id":"msg_1","model":"m","content":[
              {"type":"thinking","thinking":"hmm"},
              {"type":"text","text":"Hello, "},
              {"type":"tool_use","id":"t","name":"x","input":{}},
              {"type":"text","text":"world."},
              {"text":"untyped"}],
             "stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":10,"output_tokens":20,"cache_creation_input_tokens":3,"cache_read_input_tokens":4}}
            """;

        var parsed = MessageBodyParser.Parse(body);

        Assert.Equal(BodyKind.Message, parsed.Kind);
        Assert.Equal("Hello, world.", parsed.Text);
        Assert.Equal(["thinking", "text", "tool_use", "text", "(untyped)"], parsed.ContentBlockTypes);
        Assert.Equal("tool_use", parsed.StopReason);
        Assert.Equal(new Usage(10, 20, 3, 4), parsed.Usage);
        Assert.Equal(17, parsed.Usage.TotalInputTokens);
    }

    [Fact]
    public void Parse_KeepsUnknownStopReasonsAndStopDetails()
    {
        const string body = """
            {"type":"message","content":[],"stop_reason":"refusal",
             "stop_details":{"type":"refusal","category":"cyber","explanation":"Declined."}}
            """;

        var parsed = MessageBodyParser.Parse(body);

        Assert.Equal("refusal", parsed.StopReason);
        Assert.Equal("cyber", parsed.StopDetailsCategory);
        Assert.Equal("Declined.", parsed.StopDetailsExplanation);
        Assert.Equal(Usage.None, parsed.Usage);
    }

    [Fact]
    public void Parse_DecodesEscapesInTheText()
    {
        var parsed = MessageBodyParser.Parse(FixtureFiles.Read("endturn-cut-lone_backslash-000.json"));

        Assert.EndsWith("You mentioned feeling \\", parsed.Text, StringComparison.Ordinal);
    }
}
