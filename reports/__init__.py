"""Reports for the enforcement teams and the province office, from a run's exports.

- `build.build_reports`: OUT/<as-of>/reports/<prefecture_code>/ and reports/province/, each a
  self-contained HTML page and an Excel workbook, Chinese first and English second;
- `artifacts.publish_run_artifacts`: the analyst's Prefect artifacts of a run;
- `delivery.send_reports`: optional e-mail of each team's own report over SMTP.

Reports read only the exports (and, for the alerts' trend charts, the surveillance series of
the warehouse); a prefecture's report holds only the leads, hotspots and alerts of its own
counties, and nothing here reads personal data.
"""
