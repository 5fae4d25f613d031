// side panels
