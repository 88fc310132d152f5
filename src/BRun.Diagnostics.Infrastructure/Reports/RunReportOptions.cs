using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Reports;

/// <summary>Options of the shareable run report (section <c>Reports</c>).</summary>
public sealed class RunReportOptions
{
    public const string SectionName = "Reports";

    /// <summary>
    /// The dashboard's public address, for the report's links back (e.g. <c>https://brun.example.com</c>).
    /// Default: none; the web host then uses the address the request came to, and the CLI <c>http://127.0.0.1:5080</c>.
    /// </summary>
    [Url]
    public string? DashboardUrl { get; set; }

    /// <summary>How many failure clusters the report shows. Default 5.</summary>
    [Range(1, 50)]
    public int TopClusters { get; set; } = 5;
}
