package app

import (
	"context"
	"fmt"

	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"
)

// Upgrade is one named software upgrade: the migrations it runs and the
// stores it adds or removes. A governance (or authority) upgrade plan of the
// same name triggers it at the plan's height.
type Upgrade struct {
	Name          string
	StoreUpgrades storetypes.StoreUpgrades
	// Handler runs after the module migrations; nil runs only the migrations.
	Handler func(ctx context.Context, app *App, plan upgradetypes.Plan) error
}

// Upgrades lists every upgrade this binary knows, oldest first. Add the next
// one here; docs/operators.md says how an operator applies it.
var Upgrades = []Upgrade{}

func (app *App) registerUpgradeHandlers() {
	for _, u := range Upgrades {
		app.UpgradeKeeper.SetUpgradeHandler(u.Name,
			func(ctx context.Context, plan upgradetypes.Plan, fromVM module.VersionMap) (module.VersionMap, error) {
				vm, err := app.ModuleManager.RunMigrations(ctx, app.configurator, fromVM)
				if err != nil {
					return nil, err
				}
				if u.Handler != nil {
					if err := u.Handler(ctx, app, plan); err != nil {
						return nil, fmt.Errorf("upgrade %s: %w", u.Name, err)
					}
				}
				return vm, nil
			})
	}

	info, err := app.UpgradeKeeper.ReadUpgradeInfoFromDisk()
	if err != nil {
		panic(fmt.Errorf("reading upgrade info: %w", err))
	}
	if info.Name == "" || app.UpgradeKeeper.IsSkipHeight(info.Height) {
		return
	}
	for _, u := range Upgrades {
		if u.Name == info.Name {
			stores := u.StoreUpgrades
			app.SetStoreLoader(upgradetypes.UpgradeStoreLoader(info.Height, &stores))
		}
	}
}
