using BRun.Diagnostics.Web;

var builder = WebApplication.CreateBuilder(args);

// `./brun.sh run` serves the build output as Production: without this, the assets of MudBlazor and the Blazor
// framework (which live outside wwwroot until publish) answer 500. Published output has no runtime manifest: a no-op.
builder.WebHost.UseStaticWebAssets();
builder.AddDiagnosticsWeb();

var app = builder.Build();
app.UseDiagnosticsWeb();

await app.RunAsync();

/// <summary>Entry point, visible to integration tests.</summary>
public partial class Program;
