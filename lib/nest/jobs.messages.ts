export const requestScopedProcessor = (cls: string) =>
  `Processor ${cls} is request-scoped (or depends on a request-scoped provider). Jobs run outside any request: ` +
  'make it and its dependencies singletons (the default scope).';

export const jobOutsideProcessor = (cls: string, method: string) =>
  `${cls}.${method} has @Job but ${cls} has no @Processor: add @Processor() to the class so its jobs are registered.`;

export const processorNotProvider = (cls: string, method: string) =>
  `${cls}.${method} is not a method: @Job goes on methods of a @Processor class.`;

export const dataSourceNotAvailable = (token: string | symbol | Function) =>
  `no provider ${typeof token === 'function' ? token.name : String(token)} is available to the jobs module (or it is not created yet): ` +
  'import the module that provides it (e.g. TypeOrmModule.forRoot()); in a forRootAsync factory, inject the DataSource ' +
  '(inject: [getDataSourceToken()]) and pass it as storage: { dataSource }.';

export const requestScopedMiddleware = (cls: string) =>
  `Job middleware ${cls} is request-scoped (or depends on a request-scoped provider). Jobs run outside any request: ` +
  'make it and its dependencies singletons (the default scope).';

export const unresolvableMiddleware = (cls: string, problem: string) =>
  `Job middleware ${cls} could not be created (${problem}): add ${cls} to the providers of a module, ` +
  'so that Nest resolves its dependencies there, or pass an instance in JobsModule.forRoot({ middleware }).';
