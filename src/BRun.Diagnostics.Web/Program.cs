using BRun.Diagnostics.Web;

var builder = WebApplication.CreateBuilder(args);
builder.AddDiagnosticsWeb();

var app = builder.Build();
app.UseDiagnosticsWeb();

await app.RunAsync();

/// <summary>Entry point, visible to integration tests.</summary>
public partial class Program;
