"""Commands of the forecasting module."""

import click


@click.command("forecast-summary")
@click.argument("run_folder")
def forecast_summary(run_folder):
    """Print the total forecast per store of the run in RUN_FOLDER."""
    from tether.files.data import data_manager

    forecast = data_manager.read(f"{run_folder.strip('/')}/forecast.csv", root=True)
    totals = forecast.groupby("store")["units"].sum().round(1)
    for store, units in totals.items():
        click.echo(f"store {store}: {units} units over {forecast['date'].nunique()} days")
