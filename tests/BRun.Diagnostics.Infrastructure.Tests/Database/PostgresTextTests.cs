using System.Text.Json.Nodes;
using BRun.Diagnostics.Infrastructure.Database;

namespace BRun.Diagnostics.Infrastructure.Tests.Database;

public sealed class PostgresTextTests
{
    [Fact]
    public void A_NUL_becomes_U_FFFD_and_other_text_is_the_same_instance()
    {
        const string Clean = "no NUL here";

        Assert.Equal(("a\uFFFDb\uFFFD", null), (PostgresText.Storable("a\0b\0"), PostgresText.Storable(null)));
        Assert.Same(Clean, PostgresText.Storable(Clean));
        Assert.Equal("1,3", string.Join(",", PostgresText.NulPositions("a\0b\0")!));
        Assert.Null(PostgresText.NulPositions(Clean));
    }

    [Fact]
    public void Jsonb_text_gets_U_FFFD_for_a_NUL_in_any_string_or_key_and_keeps_everything_else()
    {
        var stored = PostgresText.StorableJsonb("""{"a":"x\u0000","b":["\u0000",1,true,null],"k\u0000":{"n":2.5},"c":"\\u0000 stays"}""");

        var node = JsonNode.Parse(stored)!.AsObject();
        Assert.Equal("x\uFFFD", (string)node["a"]!);
        Assert.Equal("[\"\\uFFFD\",1,true,null]", node["b"]!.ToJsonString());
        Assert.Equal(2.5, (double)node["k\uFFFD"]!["n"]!);
        // An escaped backslash before "u0000" is text, not a NUL.
        Assert.Equal("\\u0000 stays", (string)node["c"]!);
    }

    [Fact]
    public void Jsonb_text_without_a_NUL_escape_is_returned_as_it_is()
    {
        const string Json = """{"persona":"anxious_pre_retiree"}""";

        Assert.Same(Json, PostgresText.StorableJsonb(Json));
    }
}
