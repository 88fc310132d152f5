using BRun.Diagnostics.Web.Styling;

namespace BRun.Diagnostics.Web.Tests.Styling;

public sealed class CssClassFilterTests
{
    private static Func<string, bool> Only(params string[] classes) => classes.ToHashSet(StringComparer.Ordinal).Contains;

    [Fact]
    public void A_rule_is_kept_only_when_its_selector_needs_no_class_outside_the_set()
    {
        const string css = ".a{color:red}.b{color:blue}.a .c{margin:0}.a.b{padding:0}";

        Assert.Equal(".a{color:red}.b{color:blue}.a.b{padding:0}", CssClassFilter.Filter(css, Only("a", "b")));
        Assert.Equal(".a{color:red}", CssClassFilter.Filter(css, Only("a")));
    }

    [Fact]
    public void A_selector_list_keeps_only_its_selectors_that_can_match()
    {
        Assert.Equal(".a:hover,.a>p{x:1}", CssClassFilter.Filter(".a:hover,.b,.a>p,.c .a{x:1}", Only("a")));
    }

    [Fact]
    public void Rules_without_classes_are_kept_and_classes_in_parentheses_are_not_required()
    {
        // :not(.x) matches more elements without x, :is(.x,.y) needs only one of them: keeping such a rule is safe.
        const string css = "html{margin:0}*,::before{box-sizing:border-box}.a:not(.x){y:1}.a:is(.x,.y){z:2}";

        Assert.Equal(css, CssClassFilter.Filter(css, Only("a")));
    }

    [Fact]
    public void Dots_in_attribute_values_and_strings_are_not_classes_and_braces_in_strings_and_comments_do_not_end_a_rule()
    {
        const string css = "a[href$=\".pdf\"]{x:1}/* .b{ */.a::after{content:\"}{.c\"}.d{y:2}";

        Assert.Equal("a[href$=\".pdf\"]{x:1}.a::after{content:\"}{.c\"}", CssClassFilter.Filter(css, Only("a")));
    }

    [Fact]
    public void Grouping_at_rules_are_cut_inside_and_dropped_when_empty_other_at_rules_are_kept_whole()
    {
        const string css = "@charset \"UTF-8\";@media (min-width:600px){.a{x:1}.b{y:2}}@media print{.b{z:3}}"
            + "@keyframes spin{0%{transform:rotate(0)}to{transform:rotate(360deg)}}@supports (display:grid){@media screen{.a{g:1}}}";

        Assert.Equal(
            "@charset \"UTF-8\";@media (min-width:600px){.a{x:1}}@keyframes spin{0%{transform:rotate(0)}to{transform:rotate(360deg)}}"
            + "@supports (display:grid){@media screen{.a{g:1}}}",
            CssClassFilter.Filter(css, Only("a")));
    }

    [Fact]
    public void Escaped_class_names_are_read_unescaped()
    {
        const string css = ".hover\\:mud-primary-hover:hover{x:1}.w-1\\/2{y:2}.\\31 0{z:3}";

        Assert.Equal(css, CssClassFilter.Filter(css, Only("hover:mud-primary-hover", "w-1/2", "10")));
        Assert.Equal(string.Empty, CssClassFilter.Filter(css, Only("hover", "w-1", "1")));
        Assert.Equal(["10", "hover:mud-primary-hover", "w-1/2"], CssClassFilter.ClassNames(css).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Class_names_include_those_in_parentheses_and_in_grouping_rules_but_not_in_keyframes()
    {
        const string css = ".a:not(.b){x:1}@media screen{.c{y:2}}@keyframes k{from{opacity:0}}";

        Assert.Equal(["a", "b", "c"], CssClassFilter.ClassNames(css).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_sheet_cut_short_is_kept_as_far_as_it_goes()
    {
        Assert.Equal(".a{x:1", CssClassFilter.Filter(".a{x:1", Only("a")));
        Assert.Equal(string.Empty, CssClassFilter.Filter(".b{x:1", Only("a")));
    }

    [Fact]
    public void A_class_list_reads_names_and_patterns_and_skips_comments()
    {
        var list = ClassList.Parse("# comment\nmud-table\r\n  mud-chip-color-*  \nhover:mud-*-hover\n\n");

        Assert.Equal(
            [true, true, true, true, false, false, false],
            new[] { "mud-table", "mud-chip-color-error", "hover:mud-error-hover", "mud-chip-color-", "mud-table-row", "# comment", "hover:mud-error" }
                .Select(list.Contains));
    }
}
