export const requestScopedProcessor = (cls: string) =>
  `Processor ${cls} is request-scoped (or depends on a request-scoped provider). Jobs run outside any request: ` +
  'make it and its dependencies singletons (the default scope).';

export const jobOutsideProcessor = (cls: string, method: string) =>
  `${cls}.${method} has @Job but ${cls} has no @Processor: add @Processor() to the class so its jobs are registered.`;

export const processorNotProvider = (cls: string, method: string) =>
  `${cls}.${method} is not a method: @Job goes on methods of a @Processor class.`;

export const requestScopedMiddleware = (cls: string) =>
  `Job middleware ${cls} is request-scoped (or depends on a request-scoped provider). Jobs run outside any request: ` +
  'make it and its dependencies singletons (the default scope).';

export const unresolvableMiddleware = (cls: string, problem: string) =>
  `Job middleware ${cls} could not be created (${problem}): add ${cls} to the providers of a module, ` +
  'so that Nest resolves its dependencies there, or pass an instance in JobsModule.forRoot({ middleware }).';
