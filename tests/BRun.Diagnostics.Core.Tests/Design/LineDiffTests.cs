using BRun.Diagnostics.Core.Design;

namespace BRun.Diagnostics.Core.Tests.Design;

public sealed class LineDiffTests
{
    private static string Render(IReadOnlyList<DiffLine> diff) => string.Join("\n", diff.Select(l => l.ToString()));

    [Fact]
    public void Identical_texts_have_no_changes()
    {
        var diff = LineDiff.Compute("a\nb\nc", "a\nb\nc");

        Assert.False(LineDiff.HasChanges(diff));
    }

    [Fact]
    public void A_changed_line_is_shown_removed_then_added()
    {
        var diff = LineDiff.Compute("a\nb\nc", "a\nB\nc");

        Assert.Equal("  a\n- b\n+ B\n  c", Render(diff));
    }

    [Fact]
    public void Inserted_and_deleted_lines_keep_the_common_ones()
    {
        var diff = LineDiff.Compute("one\ntwo\nthree\nfour", "zero\none\nthree\nfour\nfive");

        Assert.Equal("+ zero\n  one\n- two\n  three\n  four\n+ five", Render(diff));
    }

    [Fact]
    public void Line_endings_do_not_count_as_changes()
    {
        var diff = LineDiff.Compute("a\r\nb", "a\nb");

        Assert.False(LineDiff.HasChanges(diff));
    }

    [Fact]
    public void From_empty_everything_is_added()
    {
        var diff = LineDiff.Compute(string.Empty, "x\ny");

        Assert.Equal("+ x\n+ y", Render(diff));
    }

    [Fact]
    public void A_region_too_large_for_the_table_is_shown_as_replaced()
    {
        var old = string.Join("\n", Enumerable.Range(0, 2_100).Select(i => "old " + i));
        var @new = string.Join("\n", Enumerable.Range(0, 2_100).Select(i => "new " + i));

        var diff = LineDiff.Compute(old, @new);

        Assert.Equal(4_200, diff.Count(l => l.Kind != DiffLineKind.Same));
    }
}
