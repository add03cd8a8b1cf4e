namespace LoadTest.Report;

/// <summary>The stylesheet LoadTest's self-contained HTML reports share (the sweep's and tune's), so that they read
/// alike: page, headings, the verdict badge, the chart row and the data tables.</summary>
public static class ReportStyle
{
    public const string Css =
        "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1260px}h1{font-size:22px;margin:0 0 4px}" +
        "h2{font-size:17px;margin:24px 0 8px}.meta{color:#555;font-size:13px}.meta td{padding:1px 12px 1px 0}" +
        ".verdict{display:inline-block;padding:6px 12px;border-radius:4px;font-weight:600;margin:12px 0}" +
        ".pass{background:#e3f6e5;color:#17692a}.fail{background:#fde7e7;color:#a31515}" +
        ".charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #ddd;border-radius:4px;background:#fff}" +
        "table.data{border-collapse:collapse;font-size:13px}table.data th,table.data td{border:1px solid #ddd;padding:4px 8px;text-align:right}" +
        "table.data th{background:#f4f4f4}table.data td.l{text-align:left}";
}
