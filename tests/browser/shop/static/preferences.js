window.shopPreferences = true;
