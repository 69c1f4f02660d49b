using Microsoft.Data.Analysis;
using OlaVlm.Notebook;

namespace OlaVlm.Tests.Notebook;

public class DataFrameHtmlTests
{
    static DataFrame Rows(int n) => new(new Int32DataFrameColumn("i", Enumerable.Range(0, n)));

    [Fact]
    public void A_research_sized_table_is_shown_whole()
    {
        var html = DataFrameHtml.Table(Rows(90));
        Assert.Contains("<td><i>89</i></td>", html);
        Assert.Contains("90 rows × 1 columns</small>", html);
        Assert.DoesNotContain("shown)", html);
    }

    [Fact]
    public void A_huge_table_says_how_much_it_left_out()
    {
        var html = DataFrameHtml.Table(Rows(DataFrameHtml.DefaultMaxRows + 5));
        Assert.DoesNotContain($"<td><i>{DataFrameHtml.DefaultMaxRows}</i></td>", html);
        Assert.Contains($"(first {DataFrameHtml.DefaultMaxRows} shown)", html);
    }
}
